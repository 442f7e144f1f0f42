"""The WSGI application: Spotler's API on both base paths, and the control surface.

An API request passes, in order: added latency, a burst of 429s, the OAuth signature check,
the per-credential rate limit, injected faults, and then its handler.
"""

import logging
from typing import Any

from spotler.sandbox import api, control, control_page
from spotler.sandbox.config import SandboxSettings
from spotler.sandbox.errors import ApiError, resource_not_found
from spotler.sandbox.rendering import DIALECTS, Dialect
from spotler.sandbox.runtime import Sandbox
from spotler.sandbox.web import Request, Response, error_response, json_response

logger = logging.getLogger("spotler.sandbox")


class SandboxApp:
    """Answers every request from one `Sandbox`; safe to call from many threads at once."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def __call__(self, environ: dict[str, Any], start_response) -> list[bytes]:
        request = Request.from_environ(environ)
        response = self.respond(request)
        start_response(response.status_line, response.all_headers())
        return [response.body]

    def respond(self, request: Request) -> Response:
        path = request.raw_path
        if control_page.is_page(request):
            return control_page.handle(self.sandbox, request)
        if path.rstrip("/") == control.PREFIX.rstrip("/") and control_page.wants_page(request):
            return control_page.redirect_to_page()
        if path == control.PREFIX.rstrip("/") or path.startswith(control.PREFIX):
            return control.handle(self.sandbox, request)
        for dialect in DIALECTS:
            if path.startswith(dialect.prefix):
                return self._serve_api(request, dialect)
        if path == "/":
            return json_response(self._welcome(request))
        return error_response(
            resource_not_found(
                f"Nothing at {path}; the API is under {' and '.join(d.prefix for d in DIALECTS)}"
            )
        )

    def _serve_api(self, request: Request, dialect: Dialect) -> Response:
        self.sandbox.counts.arrived()
        segments = request.segments_after(dialect.prefix)
        route, args, other_method = api.find_route(request.method, segments)
        endpoint = route.endpoint if route else f"{request.method} (unknown endpoint)"
        try:
            response = self._pass(request, dialect, route, args, other_method)
        except ApiError as refusal:
            response = error_response(refusal)
        except Exception:
            logger.exception("The sandbox failed on %s %s", request.method, request.raw_path)
            response = error_response(
                ApiError(500, "BACKEND_EXCEPTION", "The sandbox failed (its log has the trace)")
            )
        self.sandbox.counts.record(endpoint, response.status)
        return response

    def _pass(
        self,
        request: Request,
        dialect: Dialect,
        route: api.Route | None,
        args: tuple[str, ...],
        other_method: bool,
    ) -> Response:
        sandbox = self.sandbox
        settings = sandbox.account.settings
        generation = sandbox.traffic.generation
        if settings.latency_ms and not sandbox.traffic.pause(
            settings.latency_ms / 1000, generation=generation
        ):
            raise _cut_short()
        sandbox.traffic.take_burst()
        consumer_key = sandbox.signatures.verify(
            method=request.method,
            uri=request.uri,
            query=request.query,
            authorization=request.authorization,
        )
        sandbox.traffic.check_rate(consumer_key, settings)
        self._inject_fault(settings, generation)
        if route is None:
            if other_method:
                raise ApiError(405, "INVALID_PARAMS", f"{request.method} is not allowed here")
            raise resource_not_found(f"Unknown endpoint {request.method} {request.raw_path}")
        return route.handler(api.Call(request, dialect, sandbox.account, consumer_key, args))

    def _inject_fault(self, settings: SandboxSettings, generation: int) -> None:
        fault = self.sandbox.traffic.draw_fault(settings)
        if fault == "hang":
            # The request is never handled: after the hang (or a reset) it answers 503, so a
            # late wake-up cannot change the state a later test sees.
            self.sandbox.traffic.pause(settings.hang_seconds, generation=generation)
            raise ApiError(
                503,
                "BACKEND_EXCEPTION",
                f"The request hung for up to {settings.hang_seconds:g} s and was not handled "
                "(sandbox fault injection)",
            )
        if fault is not None:
            raise ApiError(
                int(fault),
                "BACKEND_EXCEPTION",
                f"Injected failure: HTTP {fault} (sandbox fault injection, "
                f"error_rate {settings.error_rate:g}); the request was not handled",
            )

    def _welcome(self, request: Request) -> dict[str, Any]:
        return {
            "service": "Spotler Mail+ sandbox (spotlersync)",
            "base_urls": [f"{request.root_url}{d.prefix.rstrip('/')}" for d in DIALECTS],
            "control": f"{request.root_url}{control.PREFIX}",
        }


def _cut_short() -> ApiError:
    return ApiError(
        503, "BACKEND_EXCEPTION", "The sandbox was reset or stopped while this request waited"
    )
