"""A reconciliation's findings: read by whoever reads the runs, fixed by an Admin."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from identity import reconcile_fixes
from identity.drift import PULL, PUSH
from identity.findings import IGNORE, STATE_FILTERS, findings_page, summarize
from identity.models import DriftFinding, DriftKind
from spotlersync.roles import role_required
from sync.models import SyncRun, SyncRunKind


@role_required("view_health")
def finding_list(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(SyncRun.objects.select_related("requested_by"), pk=pk)
    if run.kind != SyncRunKind.RECONCILE:
        raise Http404("not a reconciliation")
    kind, state = _filters(request.GET)
    context = {
        "run": run,
        "summary": summarize(run),
        "page": findings_page(run, kind=kind, state=state, page=request.GET.get("page")),
        "kind": kind,
        "kind_label": DriftKind(kind).label if kind else "",
        "state": state,
        "kinds": DriftKind.choices,
        "states": [(key, label) for key, (label, _) in STATE_FILTERS.items()],
        "can_fix": request.user.has_perm("spotlersync.run_syncs"),
    }
    return render(request, "identity/driftfinding_list.html", context)


FIX_ACTIONS = {
    PUSH: (reconcile_fixes.push_again, "{id}: queued, it goes to Spotler in a few seconds."),
    PULL: (reconcile_fixes.pull_in, "{id}: Spotler's values are in the ledger and on the feed."),
    IGNORE: (reconcile_fixes.ignore, "{id}: ignored; later runs do not ask again."),
}


@require_POST
@role_required("run_syncs")
def finding_fix(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_object_or_404(DriftFinding.objects.select_related("contact", "run"), pk=pk)
    action = request.POST.get("fix", "")
    if action not in FIX_ACTIONS:
        return HttpResponseBadRequest("Unknown fix: push, pull or ignore.")
    fix, done = FIX_ACTIONS[action]
    try:
        fix(finding, user=request.user)
    except reconcile_fixes.CannotFix as error:
        messages.error(request, f"{finding.external_id}: {error}")
    else:
        messages.success(request, done.format(id=finding.external_id))
    return _back_to_findings(request, finding.run_id)


@require_POST
@role_required("run_syncs")
def finding_push_missing(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(SyncRun, pk=pk, kind=SyncRunKind.RECONCILE)
    count = reconcile_fixes.push_missing_again(run, user=request.user)
    if count:
        messages.success(request, f"{count} missing contact(s) queued: they go to Spotler now.")
    else:
        messages.info(request, "No open finding of a contact missing in Spotler to push.")
    return _back_to_findings(request, run.pk)


def _filters(data) -> tuple[str, str]:
    """The kind and state asked for, or the defaults (every kind, the open findings)."""
    kind = data.get("kind", "")
    state = data.get("state", "open")
    return (kind if kind in DriftKind.values else ""), (state if state in STATE_FILTERS else "open")


def _back_to_findings(request: HttpRequest, run_id: int) -> HttpResponse:
    """To the findings page the form was on (its kind, state and page), or the run's page."""
    if request.POST.get("back") == "run":
        return redirect("sync:run-detail", pk=run_id)
    kind, state = _filters(request.POST)
    query = {"state": state, **({"kind": kind} if kind else {})}
    page = request.POST.get("page", "")
    if page.isdigit():
        query["page"] = page
    return redirect(f"{reverse('sync:finding-list', args=[run_id])}?{urlencode(query)}")
