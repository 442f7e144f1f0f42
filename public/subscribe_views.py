"""The public side of subscribe forms: the page `/subscribe/<slug>/` and the JSON endpoint
`POST /subscribe/<slug>/json`. No login; the protections are here (README "Subscribe forms"):
CSRF or an allowed Origin, a honeypot, rate limits per client address and per e-mail address,
every field checked against its Spotler type. No answer says whether an address was known."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from public import subscribe
from public.models import SubscribeForm
from public.subscribe_fields import asked_fields, read_submission
from public.throttle import Limited, over_limit, rate, retry_headers

MAX_JSON_BODY_BYTES = 8 * 1024  # an address and a few fields; anything larger is not a sign-up
PREFLIGHT_MAX_AGE = 600


@csrf_exempt  # checked in the view: Django's CSRF token, or an Origin we trust (_trusted_post)
def subscribe_page(request: HttpRequest, slug: str) -> HttpResponse:
    form = SubscribeForm.objects.filter(slug=slug, enabled=True).first()
    if form is None:  # unknown and switched off look the same
        return render(request, "public/subscribe_missing.html", status=404)
    context = _page_context(form, values={}, problems={})
    if request.method == "POST":
        return _framed(_post_page(request, form, context), form)
    return _framed(render(request, "public/subscribe_page.html", context), form)


def _post_page(request: HttpRequest, form: SubscribeForm, context: dict) -> HttpResponse:
    page = "public/subscribe_page.html"
    if not _trusted_post(request, form):
        origin = request.META.get("HTTP_ORIGIN")
        context["general_problem"] = (
            "This form does not accept sign-ups from the site it was sent from."
            if origin and origin != "null"
            else "This page was open too long; please send the form again."
        )
        context["problems"] = {"": context["general_problem"]}
        return render(request, page, context, status=403)
    limited = over_limit(
        request, group="subscribe-address", rate=rate("PUBLIC_SUBSCRIBE_RATE_PER_ADDRESS")
    )
    if limited:
        return _page_too_many(request, context, limited)
    submission = read_submission(form, request.POST, strict=False)
    if submission.honeypot:
        return render(request, page, {**context, "thanked": True})
    if submission.problems:
        context = _page_context(form, values=request.POST, problems=submission.problems)
        return render(request, page, context)
    limited = over_limit(
        request, group="subscribe-email", rate=rate("PUBLIC_SUBSCRIBE_RATE_PER_EMAIL"),
        value=submission.email,
    )  # fmt: skip
    if limited:
        return _page_too_many(request, context, limited)
    subscribe.subscribe(form=form, submission=submission)
    return render(request, page, {**context, "thanked": True})


def _page_context(form: SubscribeForm, *, values, problems: dict[str, str]) -> dict:
    """The page's fields, each with what the visitor typed and its problem, if any."""
    rows = [
        {"name": "email", "label": "E-mail address", "required": True, "input_type": "email",
         "autocomplete": "email", "hint": ""},
    ] + [
        {"name": f.property, "label": f.label, "required": f.required,
         "input_type": f.input_type, "autocomplete": "", "hint": f.hint}
        for f in asked_fields(form)
    ]  # fmt: skip
    for row in rows:
        row["value"] = values.get(row["name"], "")
        row["problem"] = problems.get(row["name"], "")
    return {"form": form, "rows": rows, "problems": problems, "general_problem": ""}


def _page_too_many(request: HttpRequest, context: dict, limited: Limited) -> HttpResponse:
    minutes = max(1, round(limited.retry_after / 60))
    wait = f"{limited.retry_after} seconds" if limited.retry_after < 120 else f"{minutes} minutes"
    context["general_problem"] = f"Too many tries. Please try again in {wait}."
    context["problems"] = {"": context["general_problem"]}
    response = render(request, "public/subscribe_page.html", context, status=429)
    for name, value in retry_headers(limited).items():
        response[name] = value
    return response


@csrf_exempt  # a shop's page posts here from its own origin: the Origin is checked instead
def subscribe_json(request: HttpRequest, slug: str) -> HttpResponse:
    form = SubscribeForm.objects.filter(slug=slug, enabled=True).first()
    if form is None:
        return _error(404, "not_found", "There is no subscribe form at this address.")
    origin = request.META.get("HTTP_ORIGIN")
    if origin is not None and not _origin_allowed(request, form, origin):
        return _error(403, "origin_refused", "This form does not accept sign-ups from this site.")
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), origin, preflight=True)
    if request.method != "POST":
        response = _error(405, "method_not_allowed", "Send the sign-up with POST.")
        response["Allow"] = "POST, OPTIONS"
        return _cors(response, origin)
    return _cors(_post_json(request, form), origin)


def _post_json(request: HttpRequest, form: SubscribeForm) -> HttpResponse:
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_JSON_BODY_BYTES:
        return _error(
            413, "body_too_large", f"The body is larger than {MAX_JSON_BODY_BYTES // 1024} KiB."
        )
    limited = over_limit(
        request, group="subscribe-address", rate=rate("PUBLIC_SUBSCRIBE_RATE_PER_ADDRESS")
    )
    if limited:
        return _json_too_many(limited)
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "malformed_json", "The body is not valid JSON.")
    if not isinstance(data, dict):
        return _error(
            400, "malformed_json", 'Send a JSON object, e.g. {"email": "anna@example.com"}.'
        )
    submission = read_submission(form, data, strict=True)
    if submission.honeypot:  # answered as a sign-up usually is, so a bot learns nothing
        return JsonResponse({"status": subscribe.SUBSCRIBED}, status=202)
    if submission.problems:
        detail = " ".join(submission.problems.values())
        return _error(422, "invalid_fields", detail, fields=submission.problems)
    limited = over_limit(
        request, group="subscribe-email", rate=rate("PUBLIC_SUBSCRIBE_RATE_PER_EMAIL"),
        value=submission.email,
    )  # fmt: skip
    if limited:
        return _json_too_many(limited)
    status = subscribe.subscribe(form=form, submission=submission)
    return JsonResponse({"status": status}, status=202)


def _json_too_many(limited: Limited) -> HttpResponse:
    response = _error(429, "too_many_requests", "Too many tries; try again later.")
    for name, value in retry_headers(limited).items():
        response[name] = value
    return response


def _error(status: int, code: str, detail: str, *, fields: dict | None = None) -> JsonResponse:
    body = {"error": code, "detail": detail, **({"fields": fields} if fields else {})}
    return JsonResponse(body, status=status)


def _own_origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _origin_allowed(request: HttpRequest, form: SubscribeForm, origin: str) -> bool:
    return origin in form.allowed_origins or origin == _own_origin(request)


def _trusted_post(request: HttpRequest, form: SubscribeForm) -> bool:
    """A browser always names the page a POST comes from in Origin, and a page cannot forge
    it: our own page (also when framed, where its CSRF cookie may not be sent) or a shop's page
    the form allows is trusted. Without Origin, Django's CSRF token must match."""
    origin = request.META.get("HTTP_ORIGIN")
    if origin and origin != "null":
        return _origin_allowed(request, form, origin)
    refused = CsrfViewMiddleware(lambda _request: HttpResponse()).process_view(
        request, _checked_view, (), {}
    )
    return refused is None


def _checked_view(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    raise NotImplementedError


def _cors(response: HttpResponse, origin: str | None, *, preflight: bool = False) -> HttpResponse:
    response["Vary"] = "Origin"
    if origin is None:
        return response
    response["Access-Control-Allow-Origin"] = origin
    if preflight:
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return response


def _framed(response: HttpResponse, form: SubscribeForm) -> HttpResponse:
    """Let the form's allowed origins (and only them) show the page in a frame."""
    if form.allowed_origins:
        response.xframe_options_exempt = True  # X-Frame-Options names no list of origins
        response._csp_replace = {"frame-ancestors": ["'self'", *form.allowed_origins]}
    else:
        response._csp_replace = {"frame-ancestors": ["'self'"]}
        response["X-Frame-Options"] = "SAMEORIGIN"
    return response
