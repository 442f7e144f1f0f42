"""The ingest API's one error shape, and everything that produces it.

`{"error": "<code>", "detail": "<a sentence a person can act on>", "fields": {...}}`, for our
own refusals and for ninja's (validation, authentication, unparseable bodies, unknown URLs).
"""

import json
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer

from contacts.errors import BODY, ContactErased, ContactNotFound, IngestError, OrderConflict
from contacts.models import EXTERNAL_ID_PATTERN, validate_external_id

# Bodies larger than this are refused before they are read (a batch of 1,000 ordinary contacts
# is about a third of it).
MAX_BODY_BYTES = 1024 * 1024
# A temporary list names up to 100,000 external ids of up to 100 characters each.
LISTS_PATH = "/api/v1/lists"
MAX_LIST_BODY_BYTES = 12 * 1024 * 1024

STATUS_OF = {ContactNotFound: 404, ContactErased: 409, OrderConflict: 409}
TIME_ZONE_HINT = "Include a time zone, e.g. 2026-11-22T10:00:00+01:00."


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.detail = detail
        self.fields = fields or {}
        self.headers = headers or {}
        super().__init__(detail)


def error_body(code: str, detail: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {"error": code, "detail": detail, "fields": fields or {}}


def ingest_error_status(error: IngestError) -> int:
    return STATUS_OF.get(type(error), 422)


class EscapingRenderer(JSONRenderer):
    """JSON with `<`, `>` and `&` written as \\u escapes, like Django's `json_script`.

    Values come back exactly as stored (markup is stored verbatim), but no response body ever
    contains live markup, whatever a browser or a careless consumer makes of it.
    """

    escapes = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> str:
        return (
            super().render(request, data, response_status=response_status).translate(self.escapes)
        )


def reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


class StrictJsonParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        return json.loads(request.body, parse_constant=reject_constant)


def refuse_large_body(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Middleware: refuse an API body over MAX_BODY_BYTES with 413, before anything reads it."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and body_too_large(request):
            limit = body_limit(request)
            detail = (
                f"The request body is larger than {limit // 1024} KiB; "
                + ("name fewer contacts." if limit == MAX_LIST_BODY_BYTES else
                   "send fewer contacts per batch.")
            )  # fmt: skip
            return JsonResponse(error_body("body_too_large", detail), status=413)
        return get_response(request)

    return middleware


def body_limit(request: HttpRequest) -> int:
    return MAX_LIST_BODY_BYTES if request.path == LISTS_PATH else MAX_BODY_BYTES


def body_too_large(request: HttpRequest) -> bool:
    limit = body_limit(request)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return True
    if request.path == LISTS_PATH and not hasattr(request, "_body"):
        # Read past DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB, which guards the dashboard's forms),
        # within the limit just checked; Django's own check would refuse a long list.
        request._body = request.read()
    return request.method in {"POST", "PUT", "PATCH"} and len(request.body) > limit


def error_response(api: NinjaAPI, request: HttpRequest, error: ApiError) -> HttpResponse:
    body = error_body(error.code, error.detail, error.fields)
    response = api.create_response(request, body, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def install_error_handlers(api: NinjaAPI) -> None:
    def respond(request: HttpRequest, error: ApiError) -> HttpResponse:
        return error_response(api, request, error)

    @api.exception_handler(ApiError)
    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return respond(request, exc)

    @api.exception_handler(IngestError)
    def on_ingest_error(request: HttpRequest, exc: IngestError) -> HttpResponse:
        return respond(
            request, ApiError(ingest_error_status(exc), exc.code, exc.detail, fields=exc.fields)
        )

    @api.exception_handler(ValidationError)
    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        fields = fields_from_validation_errors(exc.errors)
        names = ", ".join(f"`{name}`" if name != BODY else "the body" for name in sorted(fields))
        detail = f"Correct {names} and send again; `fields` says what is wrong."
        return respond(request, ApiError(422, "invalid_fields", detail, fields=fields))

    @api.exception_handler(AuthenticationError)
    def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return respond(request, missing_token())

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400 and exc.__cause__ is not None:
            detail = f"The body is not valid JSON ({exc.__cause__}); send a JSON object."
            return respond(request, ApiError(400, "malformed_json", detail))
        return respond(request, ApiError(exc.status_code, "http_error", str(exc)))

    @api.exception_handler(Http404)
    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        detail = "There is nothing at this address; the API is described at /api/v1/docs."
        return respond(request, ApiError(404, "not_found", detail))


def missing_token() -> ApiError:
    detail = "Send an API token in the header `Authorization: Bearer <token>`."
    return ApiError(401, "missing_token", detail, headers={"WWW-Authenticate": "Bearer"})


def fields_from_validation_errors(errors: list[dict[str, Any]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in errors:
        name = field_name(tuple(error.get("loc", ()))) or BODY
        if name == BODY and error.get("type") == "missing":
            fields[BODY] = "The body is empty; send a JSON object."
            continue
        fields.setdefault(name, message_for(error))
    return fields


def field_name(loc: tuple) -> str:
    # ninja reports ("body", "<parameter>", "field", ...) or ("query", "field").
    parts = [str(part) for part in loc[1:]]
    if loc and loc[0] == "body" and parts:
        parts = parts[1:]
    return ".".join(parts)


def message_for(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "timezone_aware":
        return TIME_ZONE_HINT
    if kind == "missing":
        return "This field is required."
    if kind == "string_pattern_mismatch" and error["ctx"].get("pattern") == EXTERNAL_ID_PATTERN:
        return str(validate_external_id.message)
    if kind == "value_error" and "error" in error.get("ctx", {}):
        # Our own validators' words, without pydantic's "Value error, " in front.
        message = str(error["ctx"]["error"])
    else:
        message = str(error.get("msg", "This value is not valid."))
    return message if message.endswith(".") else message + "."
