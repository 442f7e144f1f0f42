from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from contacts.models import Contact
from spotlersync.roles import role_required
from sync.health import read_health
from sync.timeline import CannotPush, dismiss_failure, push_contact_now


@role_required("view_health")
def health(request: HttpRequest) -> HttpResponse:
    template = "sync/_health.html" if request.headers.get("HX-Request") else "sync/health.html"
    return render(request, template, {"health": read_health()})


@require_POST
@role_required("run_syncs")
def contact_push(request: HttpRequest, external_id: str) -> HttpResponse:
    contact = Contact.objects.filter(external_id=external_id).first()
    if contact is None:
        raise Http404(external_id)
    try:
        push_contact_now(contact=contact)
    except CannotPush as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Queued: the contact goes to Spotler in a few seconds.")
    return redirect("contacts:contact-detail", external_id=external_id)


@require_POST
@role_required("run_syncs")
def contact_dismiss(request: HttpRequest, external_id: str) -> HttpResponse:
    contact = Contact.objects.filter(external_id=external_id).first()
    if contact is None:
        raise Http404(external_id)
    try:
        dismiss_failure(contact=contact, user=request.user, reason=request.POST.get("reason", ""))
    except CannotPush as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Failure dismissed; the reason is kept on the contact.")
    return redirect("contacts:contact-detail", external_id=external_id)
