"""Plain WSGI requests and JSON responses, shared by the API and the control surface."""

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from spotler.sandbox.errors import ApiError, invalid_params

STATUS_TEXT = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class Request:
    """What the handlers need from a WSGI environ; `raw_path` is percent-encoded as sent."""

    method: str
    raw_path: str
    query: str
    host: str
    scheme: str
    remote_addr: str
    authorization: str | None
    body: bytes
    accept: str = ""
    origin: str = ""  # the Origin header of a form post (the control page checks it)

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> "Request":
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        return cls(
            method=environ["REQUEST_METHOD"].upper(),
            raw_path=_raw_path(environ),
            query=environ.get("QUERY_STRING", ""),
            host=host,
            scheme=environ.get("wsgi.url_scheme", "http"),
            remote_addr=environ.get("REMOTE_ADDR", ""),
            authorization=environ.get("HTTP_AUTHORIZATION"),
            body=_read_body(environ),
            accept=environ.get("HTTP_ACCEPT", ""),
            origin=environ.get("HTTP_ORIGIN", ""),
        )

    @property
    def root_url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def uri(self) -> str:
        """The absolute URI the client addressed, as OAuth signs it."""
        query = f"?{self.query}" if self.query else ""
        return f"{self.root_url}{self.raw_path}{query}"

    def segments_after(self, prefix: str) -> list[str]:
        """The decoded path segments after `prefix`; an encoded "/" stays inside its segment."""
        rest = self.raw_path[len(prefix) :].strip("/")
        return [unquote(part) for part in rest.split("/")] if rest else []

    def query_params(self) -> dict[str, str]:
        """Query parameters, the first value of each name."""
        params: dict[str, str] = {}
        for name, value in parse_qsl(self.query, keep_blank_values=True):
            params.setdefault(name, value)
        return params

    def json(self) -> Any:
        """The JSON body; a missing or unreadable body is a 400 saying which."""
        if not self.body.strip():
            raise invalid_params("Request body is missing: expected JSON")
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise invalid_params(f"Request body is not valid JSON: {exc}") from exc


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def status_line(self) -> str:
        return f"{self.status} {STATUS_TEXT.get(self.status, 'Unknown')}"

    def all_headers(self) -> list[tuple[str, str]]:
        return [*self.headers, ("Content-Length", str(len(self.body)))]


def json_response(data: Any, *, status: int = 200, headers: tuple = ()) -> Response:
    body = json.dumps(data, ensure_ascii=False).encode()
    return Response(status, body, [("Content-Type", "application/json"), *headers])


def no_content() -> Response:
    return Response(204)


def error_response(error: ApiError) -> Response:
    return json_response(error.as_body(), status=error.status, headers=error.headers)


def match_pattern(pattern: str, segments: list[str]) -> tuple[str, ...] | None:
    """The values of the `{placeholders}` when `segments` fit "a/{b}/c", else None."""
    parts = pattern.split("/") if pattern else []
    if len(parts) != len(segments):
        return None
    values = []
    for part, segment in zip(parts, segments, strict=True):
        if part.startswith("{"):
            values.append(segment)
        elif part != segment:
            return None
    return tuple(values)


def _raw_path(environ: dict[str, Any]) -> str:
    request_uri = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if request_uri:
        path = urlsplit(request_uri).path if "://" in request_uri else request_uri
        return path.split("?", 1)[0] or "/"
    # Servers without the raw URI give PATH_INFO decoded as latin-1 (PEP 3333); an encoded
    # "/" inside a segment (an externalId "a/b") is lost there, and so is its signature.
    path_info = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace")
    return quote(environ.get("SCRIPT_NAME", "") + path_info)


def _read_body(environ: dict[str, Any]) -> bytes:
    length = environ.get("CONTENT_LENGTH")
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if length:
        return stream.read(int(length))
    return stream.read() if environ.get("wsgi.input_terminated") else b""
