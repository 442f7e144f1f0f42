from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from contacts.browse import COUNT_CAP, capped_count
from contacts.models import Contact
from identity import release
from identity.findings import summarize
from mapping.push_offer import is_mapping_push
from spotlersync.roles import role_required
from sync import runs
from sync.forms import START_FORMS, StartForm
from sync.health import hour_chart, read_health, read_hours
from sync.models import SyncEvent, SyncRun, SyncRunKind, SyncRunTrigger
from sync.progress import (
    count_notes,
    failed_word,
    is_stale,
    missing_cluster,
    run_progress,
    scope_in_words,
    sent_word,
    unit_of,
)
from sync.run_hours import HOURS, automatic_runs_per_hour, hour_starting
from sync.timeline import CannotPush, dismiss_failure, push_contact_now

RECENT_RUNS = 50
HEALTH_RUNS = 5
FAILURES_SHOWN = 100
MANUAL_TRIGGERS = (SyncRunTrigger.DASHBOARD, SyncRunTrigger.COMMAND)


@role_required("view_health")
def health(request: HttpRequest) -> HttpResponse:
    """The figures refresh every 10 s (`HX-Request`); the hourly chart, the page's one costly
    read, every 5 minutes (`?part=chart`); a first visit gets both."""
    polled = bool(request.headers.get("HX-Request"))
    if polled and request.GET.get("part") == "chart":
        return render(request, "sync/_health_chart.html", {"chart": hour_chart(read_hours())})
    health = read_health(chart=not polled)
    manual = SyncRun.objects.filter(trigger__in=MANUAL_TRIGGERS).select_related("requested_by")
    context = {
        "health": health,
        "chart": None if polled else health.chart,
        "manual_runs": manual.order_by("-id")[:HEALTH_RUNS],
    }
    return render(request, "sync/_health.html" if polled else "sync/health.html", context)


@require_POST
@role_required("run_syncs")
def contact_push(request: HttpRequest, external_id: str) -> HttpResponse:
    contact = _contact_or_404(external_id)
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
    contact = _contact_or_404(external_id)
    try:
        dismiss_failure(contact=contact, user=request.user, reason=request.POST.get("reason", ""))
    except CannotPush as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Failure dismissed; the reason is kept on the contact.")
    return redirect("contacts:contact-detail", external_id=external_id)


@require_POST
@role_required("run_syncs")
def contact_release(request: HttpRequest, external_id: str) -> HttpResponse:
    """An Admin's answer to a contact held for review: send, merge or keep local only."""
    contact = _contact_or_404(external_id)
    try:
        message = release.release_hold(
            contact=contact, decision=request.POST.get("decision", ""), user=request.user
        )
    except release.CannotRelease as error:
        messages.error(request, str(error))
    else:
        messages.success(request, message)
    return redirect("contacts:contact-detail", external_id=external_id)


def _contact_or_404(external_id: str) -> Contact:
    contact = Contact.objects.with_external_id(external_id).first()
    if contact is None:
        raise Http404(external_id)
    return contact


@role_required("view_health")
def run_list(request: HttpRequest) -> HttpResponse:
    return _run_list_page(request)


@require_POST
@role_required("run_syncs")
def run_start(request: HttpRequest) -> HttpResponse:
    action = request.POST.get("action", "")
    if action not in START_FORMS:
        return HttpResponseBadRequest("Unknown kind of sync.")
    form = START_FORMS[action](request.POST, prefix=action)
    if form.is_valid():
        try:
            run = runs.start_run(
                trigger=SyncRunTrigger.DASHBOARD, requested_by=request.user,
                **form.run_arguments(),
            )  # fmt: skip
        except ValueError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Started {run.label.lower()} run #{run.pk}.")
            if form.unknown_ids:
                skipped = ", ".join(form.unknown_ids[:10])
                more = (
                    f" and {len(form.unknown_ids) - 10} more" if len(form.unknown_ids) > 10 else ""
                )
                messages.warning(request, f"Not in the ledger, so not sent: {skipped}{more}.")
            return redirect("sync:run-detail", pk=run.pk)
    return _run_list_page(request, bound={action: form})


def _run_list_page(
    request: HttpRequest, *, bound: dict[str, StartForm] | None = None
) -> HttpResponse:
    """Manual runs by default, with the automatic ones added up per hour; `?show=automatic`
    (optionally `&hour=<ISO hour>&kind=<kind>`) lists those one by one, `?show=all` every run."""
    show = request.GET.get("show", "")
    show = show if show in ("automatic", "all") else "manual"
    recent = SyncRun.objects.select_related("requested_by").order_by("-id")
    hour = hour_starting(request.GET.get("hour", "")) if show == "automatic" else None
    kind = request.GET.get("kind", "") if show == "automatic" else ""
    if show == "manual":
        recent = recent.filter(trigger__in=MANUAL_TRIGGERS)
    elif show == "automatic":
        recent = recent.exclude(trigger__in=MANUAL_TRIGGERS)
        if hour is not None:
            recent = recent.filter(created_at__gte=hour, created_at__lt=hour + timedelta(hours=1))
        if kind in SyncRunKind.values:
            recent = recent.filter(kind=kind)
    now = timezone.now()
    rows = [
        {"run": run, "progress": run_progress(run, now=now), "scope": scope_in_words(run)}
        for run in recent[:RECENT_RUNS]
    ]
    forms = {}
    if request.user.has_perm("spotlersync.run_syncs"):
        forms = {action: form(prefix=action) for action, form in START_FORMS.items()}
        forms.update(bound or {})
    context = {
        "rows": rows,
        "show": show,
        "hour": hour,
        "kind_shown": SyncRunKind(kind).label if kind in SyncRunKind.values else "",
        "run_hours": automatic_runs_per_hour(now=now) if show == "manual" else [],
        "hours_summed": HOURS,
        "forms": forms,
        "contact_count": capped_count(Contact.objects.live()),
        "count_cap": COUNT_CAP,
        "recent_cap": RECENT_RUNS,
    }
    return render(request, "sync/syncrun_list.html", context)


@role_required("view_health")
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(SyncRun.objects.select_related("requested_by"), pk=pk)
    failures = SyncEvent.objects.filter(run=run, ok=False).select_related("contact")
    context = {
        **_run_context(run),
        "failures": list(failures.order_by("contact_id", "id")[:FAILURES_SHOWN]),
        "failure_count": failures.count(),
        "failures_shown": FAILURES_SHOWN,
        "can_cancel": _may_cancel(request.user, run),
        "drift": summarize(run) if run.kind == SyncRunKind.RECONCILE else None,
        "can_fix": request.user.has_perm("spotlersync.run_syncs"),
    }
    return render(request, "sync/syncrun_detail.html", context)


@role_required("view_health")
def run_progress_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything on the run's page that changes while it runs (its times, progress, counts and
    the cancel button), polled by htmx; once the run ends, the whole page reloads."""
    run = get_object_or_404(SyncRun.objects.select_related("requested_by"), pk=pk)
    context = {**_run_context(run), "can_cancel": _may_cancel(request.user, run)}
    response = render(request, "sync/_syncrun_live.html", context)
    if run.finished_at is not None and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@require_POST
@role_required("view_health")
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(SyncRun, pk=pk)
    if not _may_cancel(request.user, run):
        raise PermissionDenied("run_syncs")
    if not runs.cancel_run(run):
        messages.info(
            request, f"Run #{run.pk} had already ended ({run.get_status_display().lower()})."
        )
    elif run.finished_at is not None:
        messages.success(request, f"Run #{run.pk} is cancelled; it never started.")
    else:
        messages.success(
            request, f"Run #{run.pk} stops after its current step; what it sent stays sent."
        )
    return redirect("sync:run-detail", pk=run.pk)


def _may_cancel(user, run: SyncRun) -> bool:
    """An Admin cancels any run; a Marketer only the push of a mapping change, which is the
    one run a Marketer can start."""
    if user.has_perm("spotlersync.run_syncs"):
        return True
    return user.has_perm("spotlersync.edit_mapping") and is_mapping_push(run)


def _run_context(run: SyncRun) -> dict:
    now = timezone.now()
    return {
        "run": run,
        "progress": run_progress(run, now=now),
        "scope": scope_in_words(run),
        "unit": unit_of(run),
        "sent_word": sent_word(run),
        "failed_word": failed_word(run),
        "stale": is_stale(run, now=now, stale_seconds=settings.SYNC_RUN_STALE_SECONDS),
        "is_backfill": run.kind == SyncRunKind.BACKFILL,
        "missing_cluster": missing_cluster(run),
        "count_notes": count_notes(run),
    }
