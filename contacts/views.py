from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from contacts import browse, standing
from contacts.forms import ApiTokenForm, ContactFilterForm
from contacts.models import ApiToken, TokenScope
from contacts.tokens import create_api_token, revoke_api_token
from identity.release import hold_standing
from spotlersync.roles import role_required
from sync.timeline import contact_timeline


@role_required("manage_api_tokens")
def token_list(request: HttpRequest) -> HttpResponse:
    tokens = ApiToken.objects.select_related("created_by")
    return render(request, "contacts/apitoken_list.html", {"tokens": tokens})


@role_required("manage_api_tokens")
def token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        new = create_api_token(
            name=form.cleaned_data["name"],
            scope=TokenScope(form.cleaned_data["scope"]),
            created_by=request.user,
        )
        # Rendered, not redirected to: the secret lives only in this response, never in a
        # session or a URL, so it cannot be shown a second time.
        response = render(request, "contacts/apitoken_created.html", {"new": new})
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "contacts/apitoken_create.html", {"form": form})


@require_POST
@role_required("manage_api_tokens")
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk)
    if revoke_api_token(token=token, actor=request.user):
        messages.success(request, f"Revoked “{token.name}”; calls with it are refused from now on.")
    else:
        messages.info(request, f"“{token.name}” was already revoked.")
    return redirect("contacts:token-list")


@role_required("view_dashboard")
def contact_list(request: HttpRequest) -> HttpResponse:
    form = ContactFilterForm(request.GET)
    listing = browse.browse_contacts(filters=form.filters(), page=form.page_number())
    context = {
        "form": form,
        "listing": listing,
        "cap": browse.COUNT_CAP,
        "consent_choices": standing.consent_choices(listing.permissions),
    }
    return render(request, "contacts/contact_list.html", context)


@role_required("view_dashboard")
def contact_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    record = browse.read_contact(external_id=external_id)
    if record is None:
        raise Http404(external_id)
    timeline = contact_timeline(record.contact)
    browse.describe_timeline(timeline.events, permissions=record.permissions)
    context = {
        "record": record,
        "contact": record.contact,
        "standing": record.standing,
        "external_id": external_id,
        "timeline": timeline,
        "hold": hold_standing(record.contact),
    }
    return render(request, "contacts/contact_detail.html", context)
