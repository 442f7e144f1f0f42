from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from contacts.models import Contact
from mapping.stored_catalogue import mapping_drift
from public.subscribe_counts import daily_counts
from spotlersync.queue_status import read_queue_status
from spotlersync.roles import role_required
from sync.models import SyncRun, SyncRunTrigger
from sync.schedule_health import read_schedule_health


@role_required("view_dashboard")
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "queue": read_queue_status(),
        "schedules": read_schedule_health(),
        "mapping_drift": mapping_drift(),
        "failed_contacts": Contact.objects.failed().count(),
        # Manual syncs still going (Syncs page); live pushes and scheduled pulls are left out.
        "active_runs": SyncRun.objects.unfinished()
        .filter(trigger__in=[SyncRunTrigger.DASHBOARD, SyncRunTrigger.COMMAND])
        .order_by("-id")[:5],
    }
    if request.user.has_perm("spotlersync.search_spotler"):  # Marketers and Admins
        context["subscriptions"] = daily_counts(days=7)
    return render(request, "spotlersync/home.html", context)


@role_required("view_dashboard")
def queue_summary(request: HttpRequest) -> HttpResponse:
    """The queue panel of the home page, which refreshes itself with htmx."""
    context = {"queue": read_queue_status(), "schedules": read_schedule_health()}
    return render(request, "spotlersync/_queue_summary.html", context)


@role_required("run_syncs")
def queue_detail(request: HttpRequest) -> HttpResponse:
    context = {"queue": read_queue_status(recent=50), "schedules": read_schedule_health()}
    return render(request, "spotlersync/queue_detail.html", context)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)
