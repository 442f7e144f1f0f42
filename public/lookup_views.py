"""Lookup pages: the public page at /lookup/<slug>/, and the Admin's pages to configure them."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

import spotler
from audit import trail
from public import throttle
from public.lookup import look_up_code
from public.lookup_forms import LookupPageForm
from public.models import LookupPage
from spotlersync.roles import role_required
from sync.spotler_connection import waiting_client

RATE_SETTING = "PUBLIC_LOOKUP_RATE_PER_ADDRESS"
TEMPLATE = "public/lookup_page.html"


def lookup_page(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the form asking the code. POST: look the code up in Spotler.

    Found: the found text and the configured properties. Anything else (no contact, several,
    a code that cannot be one) gets the same not-found text, status and page.
    """
    page = LookupPage.objects.filter(slug=slug, enabled=True).first()
    if page is None:
        raise Http404
    context = {"page": page, "state": "ask"}
    status = 200
    if request.method == "POST":
        limited = throttle.over_limit(
            request, group="public-lookup", rate=throttle.rate(RATE_SETTING)
        )
        if limited is not None:
            context.update(state="limited", retry_after=limited.retry_after)
            response = render(request, TEMPLATE, context, status=429)
            for name, value in throttle.retry_headers(limited).items():
                response[name] = value
            return _framable(response)
        context["state"], context["found"], status = _look_up(page, request.POST.get("code", ""))
    return _framable(render(request, TEMPLATE, context, status=status))


def _look_up(page: LookupPage, code: str) -> tuple[str, object, int]:
    try:
        with waiting_client() as client:
            found = look_up_code(page, code, client=client)
    except spotler.SpotlerError:
        # Spotler is down or throttles: the same for every code, so saying so reveals nothing.
        return "unavailable", None, 503
    return ("found", found, 200) if found is not None else ("not_found", None, 200)


def _framable(response: HttpResponse) -> HttpResponse:
    """Let the shop's own pages frame a lookup page, when PUBLIC_LOOKUP_FRAME_ANCESTORS names
    them; otherwise the site-wide `frame-ancestors 'none'` and X-Frame-Options: DENY hold."""
    ancestors = settings.PUBLIC_LOOKUP_FRAME_ANCESTORS
    if ancestors:
        response._csp_replace = {"frame-ancestors": list(ancestors)}
        response.xframe_options_exempt = True
    return response


@role_required("manage_public_pages")
def lookup_page_list(request: HttpRequest) -> HttpResponse:
    pages = LookupPage.objects.all()
    return render(request, "public/lookup_page_list.html", {"pages": pages})


@role_required("manage_public_pages")
def lookup_page_create(request: HttpRequest) -> HttpResponse:
    form = LookupPageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        page = form.save()
        trail.record(
            actor=request.user, action="created", object_type="lookup page", obj=page,
            object_label=page.slug, after=trail.snapshot(page),
        )  # fmt: skip
        messages.success(request, f"Lookup page “{page.slug}” is saved.")
        return redirect("public:lookup-page-edit", pk=page.pk)
    return render(request, "public/lookup_page_form.html", {"form": form, "page": None})


@role_required("manage_public_pages")
def lookup_page_edit(request: HttpRequest, pk: int) -> HttpResponse:
    page = get_object_or_404(LookupPage, pk=pk)
    before = trail.snapshot(page)
    form = LookupPageForm(request.POST or None, instance=page)
    if request.method == "POST" and form.is_valid():
        form.save()
        trail.record(
            actor=request.user, action="changed", object_type="lookup page", obj=page,
            object_label=page.slug, before=before, after=trail.snapshot(page),
        )  # fmt: skip
        messages.success(request, f"Lookup page “{page.slug}” is saved.")
        return redirect("public:lookup-page-edit", pk=page.pk)
    public_url = request.build_absolute_uri(reverse("public:lookup-page", args=[page.slug]))
    context = {
        "form": form,
        "page": page,
        "public_url": public_url,
        "framable": bool(settings.PUBLIC_LOOKUP_FRAME_ANCESTORS),
        "frame_ancestors": settings.PUBLIC_LOOKUP_FRAME_ANCESTORS,
    }
    return render(request, "public/lookup_page_form.html", context)
