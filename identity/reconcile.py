"""Reconciliation: compare ledger contacts with Spotler's copies and record the drift.

A run (a `SyncRun` of kind RECONCILE, started from the Syncs page, `manage.py sync reconcile`
or the weekly schedule) reads `GET contact/{externalId}` for every contact Spotler should hold,
or for a random sample, within the one rate limit, and compares each copy with what a push
would send now (identity/drift.py). Differences become `DriftFinding`s of the run: missing in
Spotler, mapped fields that differ, consent that differs; and at the end the external ids the
pulls reported that the ledger does not know. identity/reconcile_fixes.py acts on them.

Which contacts Spotler should hold: every live contact, inactive ones included (compared for
presence and fields, not permissions), except those held for review, merged into another,
kept local only, anonymized, or whose push failed (their failure already says why Spotler does
not hold them as the ledger does). A contact with a change in the outbox is skipped: a push of
it is under way, and Spotler's copy is about to change.

The run works in batches. Each batch's findings and counters are written together, with the
checkpoint (the last contact done) moved on only if nobody else moved it meanwhile, so a
resumed run (the watchdog queues a run whose worker died) goes on from there and records each
contact once. On the queue a run works in slices of SLICE_SECONDS, each queuing the next, so
it never meets the queue's task timeout and live pushes are taken between slices.
"""

import bisect
import random
import time

from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

import spotler
from contacts.models import Contact, SyncStatus
from identity import reconcile_batch, tasks
from identity.drift import MappedRows
from identity.models import DriftFinding, DriftKind
from mapping.current import mapping_in_force
from mapping.rows import row_from_json
from mapping.stored_catalogue import catalogue_entries
from mapping.versions import current_version
from sync.explain import explain
from sync.models import RUN_NAMES, SyncRun, SyncRunStatus, UnknownContact
from sync.run_state import finish_once

# Contacts compared between two checkpoints: 5 s of calls at 10 a second.
BATCH_SIZE = 50
# On the queue: how long one slice works before it queues the next (the task timeout is 600 s).
SLICE_SECONDS = 60.0
# Whose copy is not compared: Spotler is not meant to hold it as the ledger does.
LEFT_OUT = (
    SyncStatus.HELD,
    SyncStatus.MERGED,
    SyncStatus.LOCAL_ONLY,
    SyncStatus.ANONYMIZED,
    SyncStatus.FAILED,
    SyncStatus.DISMISSED,
)
FILTERS = ("sample",)


def selection() -> QuerySet[Contact]:
    """The contacts Spotler should hold as the ledger does (see the module's docstring)."""
    return Contact.objects.live().exclude(sync_status__in=LEFT_OUT)


def clean_filters(filters: dict | None) -> dict:
    """A reconciliation's filters: {"sample": N} or none; ValueError saying what is wrong."""
    filters = dict(filters or {})
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise ValueError(f"Unknown filter(s): {', '.join(unknown)}.")
    sample = filters.get("sample")
    if sample in (None, ""):
        return {}
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise ValueError(f"A sample is a number of contacts, 1 or more; {sample!r} is not.")
    return {"sample": sample}


def reconcile(run: SyncRun, *, slice_seconds: float | None = None) -> None:
    """Do the claimed (RUNNING) run: fix its contacts once, then compare them, all at once or
    (`slice_seconds` given, on the queue) a slice at a time."""
    prepare(run)
    work_on(run.pk, slice_seconds=slice_seconds)


def work_on(run_id: int, *, slice_seconds: float | None = None) -> None:
    if slice_seconds is None:
        work(run_id)
    elif work(run_id, until=time.monotonic() + slice_seconds):
        queue_next_slice(run_id, slice_seconds=slice_seconds)


def work_slice(run_id: int, *, slice_seconds: float) -> None:
    """The next slice of a running run (queued by the one before); a bug ends the run."""
    run = SyncRun.objects.filter(pk=run_id, status=SyncRunStatus.RUNNING).first()
    if run is None:
        return
    try:
        work_on(run_id, slice_seconds=slice_seconds)
    except Exception as error:
        finish_once(run, status=SyncRunStatus.FAILED, error=f"Stopped by an error: {error!r}")
        raise


def queue_next_slice(run_id: int, *, slice_seconds: float) -> None:
    SyncRun.objects.filter(pk=run_id).update(heartbeat_at=timezone.now())
    async_task(
        tasks.continue_reconciliation,
        run_id,
        slice_seconds=slice_seconds,
        group="runs",
        q_options={"task_name": f"run {run_id} slice"},
    )


def prepare(run: SyncRun) -> None:
    """Fix the run's contacts: every one of the selection up to the newest now, or a random
    sample of them. Once: a resumed run keeps what it had (under the run's row lock)."""
    if run.checkpoint.get("prepared"):
        return
    contacts = selection()
    checkpoint: dict = {"prepared": True, "after_id": 0}
    sample = (run.filters or {}).get("sample")
    if sample:
        ids = list(contacts.values_list("pk", flat=True))
        checkpoint["ids"] = sorted(random.sample(ids, min(sample, len(ids))))
        total = len(checkpoint["ids"])
    else:
        checkpoint["last_id"] = contacts.aggregate(last=Max("pk"))["last"] or 0
        total = contacts.filter(pk__lte=checkpoint["last_id"]).count()
    with transaction.atomic():
        locked = SyncRun.objects.select_for_update().get(pk=run.pk)
        if not locked.checkpoint.get("prepared"):
            checkpoint = {**locked.checkpoint, **checkpoint}  # keeps the watchdog's count
            SyncRun.objects.filter(pk=run.pk).update(
                total=total, checkpoint=checkpoint, heartbeat_at=timezone.now()
            )
    run.refresh_from_db()


def work(run_id: int, *, until: float | None = None) -> bool:
    """Compare batch after batch until none is left, then record the unknown external ids and
    end the run. With `until` (a `time.monotonic()` moment) it stops after the batch that ends
    past it (a slice does one batch at least) and returns True if contacts are left; False
    when the run is done or ended."""
    mapping = mapping_in_force()
    rows = mapped_rows()
    batches = 0
    while True:
        run = SyncRun.objects.filter(pk=run_id).first()
        if run is None or run.status != SyncRunStatus.RUNNING:
            return False
        if run.cancel_requested:
            finish_once(run, status=SyncRunStatus.CANCELLED)
            return False
        last_id, contacts = next_batch(run)
        if last_id is None:
            break
        if batches and until is not None and time.monotonic() >= until:
            return True
        batches += 1
        try:
            result = reconcile_batch.check_batch(run, contacts, mapping=mapping, rows=rows)
        except spotler.SpotlerError as error:
            why = f"{explain(error)} The contacts compared so far keep their findings."
            finish_once(run, status=SyncRunStatus.FAILED, error=why)
            return False
        if not record_batch(run, last_id=last_id, result=result, size=len(contacts)):
            return False  # another worker moved the run on meanwhile (or it was stopped)
    run = SyncRun.objects.get(pk=run_id)
    record_unknown_ids(run)
    # Contacts that left the selection during the run (erased, held) were not compared.
    SyncRun.objects.filter(pk=run_id, status=SyncRunStatus.RUNNING).update(total=F("done"))
    finish_once(run, status=SyncRunStatus.SUCCEEDED)
    return False


def mapped_rows() -> MappedRows:
    catalogue = catalogue_entries()
    return MappedRows.of([row_from_json(r, catalogue=catalogue) for r in current_version().rows])


def next_batch(run: SyncRun) -> tuple[int | None, list[Contact]]:
    """(the last contact id the batch covers, its contacts still in the selection); (None, [])
    when the run has none left."""
    after = run.checkpoint.get("after_id", 0)
    sample = run.checkpoint.get("ids")
    if sample is not None:
        wanted = sample[bisect.bisect_right(sample, after) :][:BATCH_SIZE]
        if not wanted:
            return None, []
        return wanted[-1], list(selection().filter(pk__in=wanted).order_by("pk"))
    contacts = list(
        selection()
        .filter(pk__gt=after, pk__lte=run.checkpoint.get("last_id", 0))
        .order_by("pk")[:BATCH_SIZE]
    )
    return (contacts[-1].pk if contacts else None), contacts


def record_batch(
    run: SyncRun, *, last_id: int, result: reconcile_batch.BatchResult, size: int
) -> bool:
    """The batch's findings, counters and checkpoint together; False (nothing written) when
    the run moved on meanwhile: another worker did this batch, or the run was ended."""
    with transaction.atomic():
        moved = SyncRun.objects.filter(
            pk=run.pk, status=SyncRunStatus.RUNNING, done=run.done
        ).update(
            done=F("done") + size,
            sent=F("sent") + result.in_step,
            failed=F("failed") + result.drifted,
            skipped=F("skipped") + result.skipped,
            checkpoint={**run.checkpoint, "after_id": last_id},
            heartbeat_at=timezone.now(),
        )
        if not moved:
            return False
        DriftFinding.objects.bulk_create(result.findings, batch_size=500)
    return True


def record_unknown_ids(run: SyncRun) -> None:
    """A finding for each external id a pull reported that the ledger does not know."""
    if run.checkpoint.get("unknown_recorded"):
        return
    known = Contact.objects.filter(external_id=OuterRef("external_id"))
    unknown = UnknownContact.objects.filter(~Exists(known)).order_by("external_id")
    findings = [unknown_finding(run, u) for u in unknown.iterator(chunk_size=1000)]
    reconcile_batch.carry_over_ignored(findings)
    with transaction.atomic():
        locked = SyncRun.objects.select_for_update().get(pk=run.pk)
        if locked.checkpoint.get("unknown_recorded"):
            return
        DriftFinding.objects.bulk_create(findings, batch_size=500)
        checkpoint = {**locked.checkpoint, "unknown_recorded": True}
        SyncRun.objects.filter(pk=run.pk).update(checkpoint=checkpoint)


def unknown_finding(run: SyncRun, unknown: UnknownContact) -> DriftFinding:
    seen = {
        "field": "externalId", "ledger": None, "spotler": unknown.external_id,
        "source": RUN_NAMES.get(unknown.source, unknown.get_source_display()),
        "times_seen": unknown.times_seen,
        "last_seen_at": unknown.last_seen_at.isoformat(),
    }  # fmt: skip
    return DriftFinding(
        run=run, kind=DriftKind.UNKNOWN, external_id=unknown.external_id, details=[seen]
    )
