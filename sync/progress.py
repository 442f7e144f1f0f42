"""How far a run has got, in the numbers and words its page shows: percent, rate, time left."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import dateformat, timezone

from spotlersync import queue_presence
from sync.models import SyncRun, SyncRunKind, SyncRunStatus

# What a run's `done` counts, where it is not contacts sent; and what its `sent` counts.
UNITS = {
    SyncRunKind.REFRESH_PROPERTIES: "property changes",
    SyncRunKind.PULL_UPDATES: "updated contacts read",
    SyncRunKind.PULL_BOUNCES: "bounces read",
}
SENT_WORDS = {
    SyncRunKind.PULL_UPDATES: "applied",
    SyncRunKind.PULL_BOUNCES: "applied",
    SyncRunKind.RECONCILE: "in step",
}
# ... and its `failed`: a reconciliation counts the contacts whose Spotler copy differs.
FAILED_WORDS = {SyncRunKind.RECONCILE: "differ"}


@dataclass(frozen=True)
class Progress:
    done: int
    total: int | None
    percent: int | None  # None while the total is unknown
    rate: float | None  # per second, over the time the run has been running
    eta: timedelta | None  # None when there is no total or no rate yet

    @property
    def eta_words(self) -> str:
        return duration_words(self.eta) if self.eta is not None else ""


def measure_progress(
    *,
    done: int,
    total: int | None,
    started_at: datetime | None,
    now: datetime,
    finished: bool = False,
) -> Progress:
    """The percent done, the rate since the start and the time left at that rate.

    A finished run has no time left; one that has not started (or done nothing) has no rate.
    """
    percent = None
    if total is not None:
        percent = 100 if total == 0 else min(100, done * 100 // total)
    elapsed = (now - started_at).total_seconds() if started_at else 0.0
    rate = done / elapsed if done and elapsed > 0 else None
    eta = None
    if not finished and rate and total is not None:
        eta = timedelta(seconds=round(max(0, total - done) / rate))
    return Progress(done=done, total=total, percent=percent, rate=rate, eta=eta)


def run_progress(run: SyncRun, *, now: datetime) -> Progress:
    finished = run.finished_at is not None
    progress = measure_progress(
        done=run.done,
        total=run.total,
        started_at=run.started_at,
        now=run.finished_at or now,
        finished=finished,
    )
    if run.status == SyncRunStatus.SUCCEEDED and progress.percent is None:
        # A run that learns no total (a pull, a push) is whole when it succeeds.
        return Progress(run.done, run.total, 100, progress.rate, None)
    return progress


def is_stale(run: SyncRun, *, now: datetime, stale_seconds: int) -> bool:
    """A running run whose worker has not reported for a while (it died; it is resumed)."""
    if run.status != SyncRunStatus.RUNNING:
        return False
    last_word = run.heartbeat_at or run.started_at
    return last_word is not None and (now - last_word).total_seconds() > stale_seconds


def missing_cluster(run: SyncRun) -> str:
    """For a queued run that no running cluster can take: the command that starts one (the
    default cluster takes every kind of run); '' when one can, or the run is not queued."""
    if run.status != SyncRunStatus.QUEUED:
        return ""
    queues = [queue_presence.default_queue()]
    if run.kind == SyncRunKind.BACKFILL:
        queues.append(settings.SYNC_BACKFILL_CLUSTER)
    if any(queue_presence.is_worked(queue) for queue in queues):
        return ""
    return queue_presence.start_command(queue_presence.default_queue())


def duration_words(span: timedelta) -> str:
    """ "45 s", "3 min 5 s", "2 h 10 min": short, for a progress line."""
    seconds = max(0, round(span.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    return f"{seconds} s"


def unit_of(run: SyncRun) -> str:
    return UNITS.get(run.kind, "contacts")


def sent_word(run: SyncRun) -> str:
    return SENT_WORDS.get(run.kind, "sent")


def failed_word(run: SyncRun) -> str:
    return FAILED_WORDS.get(run.kind, "failed")


def scope_in_words(run: SyncRun) -> list[str]:
    """What the run covers, one line per filter or window bound, for its page and the list."""
    if run.kind == SyncRunKind.BACKFILL:
        return _backfill_scope(run)
    if run.window_start and run.window_end:
        return [f"from {_moment(run.window_start)} to {_moment(run.window_end)}"]
    if run.kind == SyncRunKind.PUSH:
        return ["every change waiting in the outbox"]
    if run.kind == SyncRunKind.RECONCILE:
        sample = (run.filters or {}).get("sample")
        if sample:
            return [f"a random sample of {sample} contacts Spotler should hold"]
        return ["every contact Spotler should hold"]
    return []


def _backfill_scope(run: SyncRun) -> list[str]:
    filters = run.filters or {}
    lines = []
    if filters.get("mapping_version"):
        version = filters["mapping_version"]
        lines.append(f"the contacts whose Spotler data mapping version {version} changed")
    ids = filters.get("ids") or []
    if len(ids) == 1:
        lines.append(f"the contact {ids[0]}")
    elif ids:
        shown = ", ".join(ids[:10])
        more = f" and {len(ids) - 10} more" if len(ids) > 10 else ""
        lines.append(f"the {len(ids)} contacts {shown}{more}")
    if filters.get("failed_only"):
        lines.append("only contacts whose last sync failed")
    if filters.get("language"):
        lines.append(f"language {filters['language']}")
    if filters.get("account_manager"):
        lines.append(f"account manager {filters['account_manager']}")
    if run.window_start:
        lines.append(f"changed since {_moment(run.window_start)}")
    return lines or ["every contact in the ledger"]


def _moment(moment: datetime) -> str:
    return dateformat.format(timezone.localtime(moment), "j M Y H:i:s")


# What each count of a run means, by kind: shown under the counts, for those that are not 0.
SENT_MEANINGS = {
    SyncRunKind.PULL_UPDATES: "changes the ledger took and published on the changes feed",
    SyncRunKind.PULL_BOUNCES: "new bounces of contacts in the ledger, each in the bounce inbox",
    SyncRunKind.RECONCILE: "Spotler holds them as the ledger does",
}
FAILED_MEANINGS = {
    SyncRunKind.PULL_BOUNCES: "bounces Spotler reported without a date, so not stored",
    SyncRunKind.RECONCILE: "Spotler's copy is missing or differs; the findings below say how",
}
SKIPPED_MEANINGS = {
    SyncRunKind.BACKFILL: (
        "not sent by this run: a live push held the contact at that moment (it sends the "
        "contact's current state itself), the contact was erased after the run began, or "
        "Spotler could not be reached for it (it stays waiting and goes out with a later push)"
    ),
    SyncRunKind.PUSH: (
        "nothing was sent: there was nothing left to send (e.g. already anonymized), or "
        "Spotler could not be reached, and the change waits in the outbox for the next try"
    ),
    SyncRunKind.PULL_UPDATES: (
        "nothing new for the ledger: our own pushes coming back, changes already applied, or "
        "contacts the ledger does not know (kept aside as unknown contacts)"
    ),
    SyncRunKind.PULL_BOUNCES: (
        "already stored, or of contacts the ledger erased, anonymized or does not know (kept, "
        "with no follow-up)"
    ),
    SyncRunKind.RECONCILE: (
        "not compared: a push of the contact was under way (Spotler's copy was about to "
        "change), or the contact cannot be pushed as it stands"
    ),
}


def count_notes(run: SyncRun) -> list[str]:
    """Each non-zero count of the run with what it means: "1 skipped: …"."""
    if run.kind == SyncRunKind.REFRESH_PROPERTIES:
        return []
    notes = []
    if run.sent:
        meaning = SENT_MEANINGS.get(run.kind, "accepted by Spotler")
        notes.append(f"{run.sent} {sent_word(run)}: {meaning}.")
    if run.failed:
        meaning = FAILED_MEANINGS.get(
            run.kind, "Spotler refused them for good; each contact shows Spotler's reason"
        )
        notes.append(f"{run.failed} {failed_word(run)}: {meaning}.")
    if run.skipped:
        notes.append(f"{run.skipped} skipped: {SKIPPED_MEANINGS[run.kind]}.")
    return notes
