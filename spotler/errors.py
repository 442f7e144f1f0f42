"""The one error the Spotler client raises, and how Spotler's answers become one.

Spotler describes a failure with an `ErrorResponse` `{errorType, message}` (spotler-api.md
§2.5), as JSON or XML; some 400s have no model at all, and proxies in front of it answer with
HTML pages. Whatever arrives, the error shows Spotler's own words.
"""

import html
import json
import re

import requests

# 408 and 429 are the 4xx answers that say "try again later" (spotler-api.md §13.1).
TRANSIENT_CLIENT_STATUSES = {408, 429}
MAX_MESSAGE_CHARS = 300

INVALID_URL_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
)

_XML_FIELD = r"<{0}(?:\s[^>]*)?>(.*?)</{0}\s*>"
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


class SpotlerError(Exception):
    """Spotler refused a call, or could not be reached.

    `status` is the HTTP status, None when no answer came (connection error, timeout).
    `permanent` says whether sending the same call again can help: 400/401/403/404 and the
    other 4xx (but 408 and 429) are permanent; 429, 5xx and network errors are transient.
    `retry_after` is the wait Spotler asked for, in seconds, when it said so.
    `attempts` is how many times the client sent the call before giving up.
    """

    def __init__(
        self,
        status: int | None,
        error_type: str | None,
        message: str,
        permanent: bool,
        retry_after: float | None = None,
        *,
        attempts: int = 1,
    ) -> None:
        super().__init__(status, error_type, message, permanent, retry_after)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.attempts = attempts

    def __str__(self) -> str:
        if self.status is None:
            return self.message
        kind = f" {self.error_type}" if self.error_type else ""
        return f"Spotler answered {self.status}{kind}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"SpotlerError(status={self.status!r}, error_type={self.error_type!r}, "
            f"message={self.message!r}, permanent={self.permanent!r}, "
            f"retry_after={self.retry_after!r}, attempts={self.attempts!r})"
        )

    def __reduce__(self):
        # Keeps the error picklable with its keyword-only field (django-q2 pickles results).
        return (_rebuild_error, (self.args, self.attempts))

    @property
    def transient(self) -> bool:
        return not self.permanent


def _rebuild_error(args: tuple, attempts: int) -> SpotlerError:
    return SpotlerError(*args, attempts=attempts)


def is_permanent_status(status: int) -> bool:
    """Whether sending the same request again cannot change an answer with this status."""
    return status not in TRANSIENT_CLIENT_STATUSES and status < 500


def error_from_response(response: requests.Response, *, retry_after: float | None) -> SpotlerError:
    """Read a non-2xx answer into a SpotlerError, whatever shape its body has."""
    error_type, message = read_error_body(response)
    if 300 <= response.status_code < 400:
        location = response.headers.get("Location", "")
        message = f"a redirect to {location or 'an unnamed place'} (check SPOTLER_BASE_URL)"
    return SpotlerError(
        response.status_code,
        error_type,
        message,
        is_permanent_status(response.status_code),
        retry_after,
    )


def read_error_body(response: requests.Response) -> tuple[str | None, str]:
    """(errorType, message) from a JSON or XML ErrorResponse, or a plain description."""
    text = response.text.strip() if response.content else ""
    if not text:
        return None, f"no explanation (empty body, {response.reason or 'no reason given'})"
    content_type = response.headers.get("Content-Type", "").lower()
    if text.startswith(("{", "[")):
        found = _from_json(text)
        if found:
            return found
    if "html" in content_type or text[:200].lower().lstrip().startswith(("<!doctype", "<html")):
        return None, f"an HTML page: {_html_summary(text)}"
    if text.startswith("<"):
        found = _from_xml(text)
        if found:
            return found
    return None, _shorten(text)


def _from_json(text: str) -> tuple[str | None, str] | None:
    try:
        body = json.loads(text)
    except ValueError:
        return None
    if isinstance(body, dict) and ("errorType" in body or "message" in body):
        error_type = body.get("errorType")
        message = body.get("message")
        return (
            str(error_type) if error_type else None,
            _shorten(str(message)) if message else "no message",
        )
    return None, _shorten(json.dumps(body, ensure_ascii=False))


def _from_xml(text: str) -> tuple[str | None, str] | None:
    # A regex, not an XML parser: we only want two leaf elements, and a regex cannot be made
    # to expand entities or fetch anything.
    error_type = _xml_field(text, "errorType")
    message = _xml_field(text, "message")
    if error_type is None and message is None:
        return None
    return error_type, _shorten(message) if message else "no message"


def _xml_field(text: str, name: str) -> str | None:
    match = re.search(_XML_FIELD.format(name), text, re.DOTALL)
    return html.unescape(match.group(1).strip()) if match else None


def _html_summary(text: str) -> str:
    title = _HTML_TITLE.search(text)
    summary = title.group(1) if title else _TAGS.sub(" ", text)
    return _shorten(html.unescape(summary)) or "no title"


def _shorten(text: str) -> str:
    text = _SPACES.sub(" ", text).strip()
    if len(text) > MAX_MESSAGE_CHARS:
        return text[: MAX_MESSAGE_CHARS - 1] + "…"
    return text


def error_from_exception(
    exc: requests.RequestException, *, operation: str, timeout: tuple[float, float]
) -> SpotlerError:
    """A SpotlerError for a call that got no answer, in plain words and without the URL."""
    connect, read = timeout
    if isinstance(exc, requests.ConnectTimeout):
        message = (
            f"Spotler could not be reached within {connect:g} s ({operation}, connect timeout)"
        )
    elif isinstance(exc, requests.Timeout):
        message = f"Spotler did not answer within {read:g} s ({operation}, read timeout)"
    elif isinstance(exc, requests.ConnectionError):
        message = (
            f"Spotler could not be reached ({operation}): the connection failed or was dropped"
        )
    elif isinstance(exc, INVALID_URL_ERRORS):
        return SpotlerError(
            None, None, f"The Spotler base URL is not a valid URL ({operation})", True
        )
    else:
        message = f"The call to Spotler failed ({operation}): {exc.__class__.__name__}"
    return SpotlerError(None, None, message, False)
