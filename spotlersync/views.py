from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from identity.models import SpotlerAccount
from public.subscribe_counts import daily_counts
from spotlersync import home as figures
from spotlersync.queue_status import read_queue_status
from spotlersync.roles import role_required
from sync.models import SyncRun, SyncRunTrigger
from sync.schedule_health import read_schedule_health


@role_required("view_dashboard")
def home(request: HttpRequest) -> HttpResponse:
    """What each role needs first (spotlersync/home.py): follow-ups for those who work bounces;
    mapping, list budget, push lag and failed contacts for those who run the marketing side;
    the queue and the manual syncs for Admins."""
    user = request.user
    context: dict = {"now": timezone.now()}
    if user.has_perm("spotlersync.work_bounces"):
        context["followups"] = figures.followup_work(user)
    if user.has_perm("spotlersync.edit_mapping"):
        context["mapping"] = figures.mapping_state()
        context["push"] = figures.push_state()
    if user.has_perm("spotlersync.manage_lists"):
        context["list_budget"] = figures.list_budget_state()
    if user.has_perm("spotlersync.search_spotler"):  # Marketers and Admins
        context["subscriptions"] = daily_counts(days=7)
    if user.has_perm("spotlersync.view_health"):
        # Manual syncs still going (Syncs page); live pushes and scheduled pulls are left out.
        context["active_runs"] = (
            SyncRun.objects.unfinished()
            .filter(trigger__in=[SyncRunTrigger.DASHBOARD, SyncRunTrigger.COMMAND])
            .order_by("-id")[:5]
        )
    if user.has_perm("spotlersync.manage_connection"):
        # Read only: the connection page makes the row when it is first opened.
        context["connection"] = SpotlerAccount.objects.first() or SpotlerAccount()
    if user.has_perm("spotlersync.run_syncs"):
        context["queue"] = read_queue_status()
        context["schedules"] = read_schedule_health()
    elif "push" in context:
        # Not the queue's internals, only whether changes go out at all.
        context["queue_stopped"] = not read_queue_status().cluster_alive
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
