from datetime import datetime, time, timedelta

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from audit.forms import AuditFilterForm
from audit.models import AuditEntry

PER_PAGE = 50


def entry_list(request: HttpRequest) -> HttpResponse:
    """The audit trail, newest first, filtered by actor, object type, action and dates. Admins
    only: it names who changed what across the whole system."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not request.user.has_perm("audit.view_auditentry"):
        raise PermissionDenied("audit trail")
    form = AuditFilterForm(request.GET or None)
    entries = AuditEntry.objects.select_related("actor")
    if form.is_valid():
        entries = filter_entries(entries, **form.cleaned_data)
    page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "object_types": _distinct("object_type"),
        "actions": _distinct("action"),
    }
    return render(request, "audit/auditentry_list.html", context)


def filter_entries(entries, *, actor="", object_type="", action="", since=None, until=None):
    if actor:
        entries = entries.filter(actor_label__icontains=actor)
    if object_type:
        entries = entries.filter(object_type=object_type)
    if action:
        entries = entries.filter(action=action)
    zone = timezone.get_current_timezone()
    if since:
        entries = entries.filter(at__gte=datetime.combine(since, time.min, tzinfo=zone))
    if until:
        end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone)
        entries = entries.filter(at__lt=end)
    return entries


def _distinct(field: str) -> list[str]:
    return list(AuditEntry.objects.order_by(field).values_list(field, flat=True).distinct())
