"""Backfills and filtered resyncs: send a fixed selection of contacts, 100 per call.

A backfill first pulls what changed in Spotler (so the consent rule sees every recent
unsubscribe), then fixes its selection as numbered chunks. Workers on the backfill queue claim
chunks one at a time, so several work one run, and a chunk whose worker died is taken again:
the chunks are the run's checkpoint.

The backfill cluster (`Q_CLUSTER_NAME=backfill manage.py qcluster`) is an optimisation, not a
requirement. When one runs, a backfill goes to its queue and its workers send chunks until the
run is done, so live changes on the default queue never wait behind it. When none runs, the
backfill goes to the default queue in slices of about SLICE_SECONDS, one task at a time, each
queuing the next: a live push queued meanwhile is taken before the next slice, so it waits for
one slice at most, not for the whole backfill.

While a chunk is sent, its contacts are held through the outbox exactly as a live push holds
them (an in-flight entry), so a live push never sends the same contact at the same moment: an
edit made meanwhile waits as a pending entry and goes out right after, with the latest state.
What Spotler could not take for now (after the client's own retries) stays in the outbox as a
pending change with a backoff; nothing is dropped.
"""

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

import spotler
from contacts.models import Contact, SyncStatus
from identity import guard
from mapping.current import mapping_in_force
from mapping.editor import changes_of_version
from mapping.models import MappingVersion
from mapping.render import CompiledMapping
from spotlersync import queue_presence
from sync import pull, tasks
from sync.models import (
    BackfillChunk,
    ChunkStatus,
    OutboxEntry,
    OutboxKind,
    OutboxStatus,
    SyncRun,
    SyncRunStatus,
)
from sync.push_calls import push_contact, upsert_many
from sync.push_claims import PushOutcome, settle_entries
from sync.run_state import finish_once as finish
from sync.spotler_connection import spotler_client

logger = logging.getLogger(__name__)

CHUNK_SIZE = 500
# Contacts sent between two signs of life: one `POST contact/list` call, which with the
# client's retries may take minutes (spotler/retry.py); a chunk of 500 takes five of them.
SLICE_SIZE = 100
UNKNOWN_IDS_KEPT = 100
# On the default queue: how long one slice of a backfill sends chunks (at least one) before it
# queues the next slice behind whatever live work was queued meanwhile.
SLICE_SECONDS = 3.0


@dataclass
class ChunkResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0


def selection(run: SyncRun) -> QuerySet[Contact]:
    """The contacts a backfill with these filters sends (never an erased one)."""
    # Never one an Admin kept out of Spotler (merged into another contact, or local only).
    contacts = Contact.objects.filter(erased_at__isnull=True).exclude(
        identity_decision__in=list(guard.KEPT_OUT)
    )
    filters = run.filters or {}
    if run.window_start:
        contacts = contacts.filter(changed_at__gte=run.window_start)
    if filters.get("failed_only"):
        contacts = contacts.filter(sync_status=SyncStatus.FAILED)
    if filters.get("language"):
        contacts = contacts.filter(language=filters["language"])
    if filters.get("account_manager"):
        contacts = contacts.filter(account_manager=filters["account_manager"])
    if filters.get("ids"):
        contacts = contacts.filter(external_id__in=filters["ids"])
    if filters.get("mapping_version"):
        version = MappingVersion.objects.get(number=filters["mapping_version"])
        contacts = contacts.filter(pk__in=changes_of_version(version).values("pk"))
    return contacts


def backfill(run: SyncRun, *, slice_seconds: float | None = None) -> None:
    """Do the claimed (RUNNING) run: prepare it once, then work chunks, with helpers on the
    backfill queue, or (`slice_seconds` given, on the default queue) a slice at a time."""
    if not run.checkpoint.get("prepared"):
        if not prepare(run):
            return
        if slice_seconds is None:
            for _ in range(backfill_workers() - 1):
                queue_worker(run.pk)
    work_on(run.pk, slice_seconds=slice_seconds)


def work_on(run_id: int, *, slice_seconds: float | None = None) -> None:
    """Work the run's chunks: all of them, or for `slice_seconds` and then queue the next slice."""
    if slice_seconds is None:
        work(run_id)
    elif work(run_id, until=time.monotonic() + slice_seconds):
        queue_next_slice(run_id)


def prepare(run: SyncRun) -> bool:
    """Pull first, then fix the selection as chunks; False if the run ended here.

    The watchdog may queue a run again while its first worker is still pulling: whichever
    worker gets here second finds the run prepared and just works it with the other."""
    if adopt_preparation(run, SyncRun.objects.get(pk=run.pk)):
        return True
    beat(run.pk)
    pulled = pull.pull_updates_on_schedule(trigger=run.trigger, requested_by=run.requested_by)
    if pulled.status != SyncRunStatus.SUCCEEDED:
        finish(
            run,
            status=SyncRunStatus.FAILED,
            error=(
                "Spotler's recent changes could not be read first, so nothing was sent (an "
                f"unsubscribe made there could otherwise be undone): {pulled.error}"
            ),
        )
        return False
    beat(run.pk)
    ids = list(selection(run).order_by("pk").values_list("pk", flat=True))
    checkpoint = {"prepared": True, "chunks": 0, "pulled_run": pulled.pk}
    wanted = (run.filters or {}).get("ids")
    if wanted:
        found = set(Contact.objects.filter(pk__in=ids).values_list("external_id", flat=True))
        unknown = [i for i in wanted if i not in found]
        if unknown:
            checkpoint["unknown_ids"] = unknown[:UNKNOWN_IDS_KEPT]
            checkpoint["unknown_count"] = len(unknown)
    chunks = [
        BackfillChunk(run=run, number=n, contact_ids=ids[start : start + CHUNK_SIZE])
        for n, start in enumerate(range(0, len(ids), CHUNK_SIZE))
    ]
    checkpoint["chunks"] = len(chunks)
    with transaction.atomic():
        # Under the run's row lock: two workers never both create the chunks. The chunks and
        # "prepared" are written together, so an unprepared run has none.
        locked = SyncRun.objects.select_for_update().get(pk=run.pk)
        if adopt_preparation(run, locked):
            return True
        checkpoint = {**locked.checkpoint, **checkpoint}  # keeps the watchdog's resume count
        BackfillChunk.objects.bulk_create(chunks, batch_size=200)
        SyncRun.objects.filter(pk=run.pk).update(
            total=len(ids), checkpoint=checkpoint, heartbeat_at=timezone.now()
        )
    run.total, run.checkpoint = len(ids), checkpoint
    return True


def adopt_preparation(run: SyncRun, current: SyncRun) -> bool:
    """True if another worker prepared the run already (`current` is it as stored)."""
    if not current.checkpoint.get("prepared"):
        return False
    run.total, run.checkpoint = current.total, current.checkpoint
    return True


def work(run_id: int, *, until: float | None = None) -> bool:
    """Claim and send chunks until none is left; the last worker out ends the run.

    With `until` (a `time.monotonic()` moment) it stops after the chunk that ends past it and
    returns True if chunks may be left; False when the run is done or ended.
    """
    client: spotler.SpotlerClient | None = None
    mapping: CompiledMapping | None = None
    while True:
        run = SyncRun.objects.filter(pk=run_id).first()
        if run is None or run.status != SyncRunStatus.RUNNING:
            return False
        if run.cancel_requested:
            finish(run, status=SyncRunStatus.CANCELLED)
            return False
        if until is not None and time.monotonic() >= until:
            return True
        chunk = claim_chunk(run)
        if chunk is None:
            break
        client = client or spotler_client()
        mapping = mapping or mapping_in_force()
        result = send_chunk(
            run, chunk.contact_ids, client=client, mapping=mapping, hold=chunk.claim,
            chunk_id=chunk.pk,
        )  # fmt: skip
        with transaction.atomic():
            settled = BackfillChunk.objects.filter(
                pk=chunk.pk, claim=chunk.claim, status=ChunkStatus.IN_FLIGHT
            ).update(status=ChunkStatus.DONE)
            if settled:  # not taken over meanwhile by a worker that thought this one dead
                SyncRun.objects.filter(pk=run_id).update(
                    done=F("done") + len(chunk.contact_ids),
                    sent=F("sent") + result.sent,
                    failed=F("failed") + result.failed,
                    skipped=F("skipped") + result.skipped,
                    heartbeat_at=timezone.now(),
                )
    run = SyncRun.objects.get(pk=run_id)
    if not run.chunks.exclude(status=ChunkStatus.DONE).exists():
        finish(run, status=SyncRunStatus.SUCCEEDED)
    return False


def claim_chunk(run: SyncRun) -> BackfillChunk | None:
    """The next chunk nobody works on (or whose worker stopped reporting), for this worker.

    Taking over a chunk whose worker stopped reporting also releases the contacts it held (its
    claim is their hold): otherwise they would wait out the live push's 10-minute lease.
    """
    stale = timezone.now() - timedelta(seconds=settings.SYNC_RUN_STALE_SECONDS)
    open_chunks = BackfillChunk.objects.filter(run=run).filter(
        Q(status=ChunkStatus.PENDING) | Q(status=ChunkStatus.IN_FLIGHT, claimed_at__lt=stale)
    )
    for chunk in open_chunks.order_by("number").only("pk", "status", "claim")[:20]:
        token = uuid.uuid4().hex
        taken = BackfillChunk.objects.filter(pk=chunk.pk, claim=chunk.claim).filter(
            Q(status=ChunkStatus.PENDING) | Q(status=ChunkStatus.IN_FLIGHT, claimed_at__lt=stale)
        )
        with transaction.atomic():
            if not taken.update(
                status=ChunkStatus.IN_FLIGHT,
                claim=token,
                claimed_at=timezone.now(),
                attempts=F("attempts") + 1,
            ):
                continue
            if chunk.status == ChunkStatus.IN_FLIGHT:
                OutboxEntry.objects.filter(claim=chunk.claim, status=OutboxStatus.IN_FLIGHT).update(
                    status=OutboxStatus.PENDING, claim=""
                )  # pending upserts: this worker's hold takes them again
        return BackfillChunk.objects.get(pk=chunk.pk)
    return None


def send_chunk(
    run: SyncRun,
    contact_ids: list[int],
    *,
    client: spotler.SpotlerClient,
    mapping,
    hold: str | None = None,
    chunk_id: int | None = None,
) -> ChunkResult:
    """Hold the contacts (under `hold`, the chunk's claim), send them 100 per call, and settle
    each one's outcome. After each call the chunk's claim and the run's heartbeat are renewed,
    so slow calls are not taken for a dead worker."""
    result = ChunkResult()
    token, held = hold_contacts(contact_ids, token=hold)
    # Held elsewhere (a live push is sending it, or an anonymize/inactivate is waiting): the
    # live push sends the contact's current state anyway. Held for review, or kept out of
    # Spotler by an Admin (identity/guard.py): not sent. Both count as skipped.
    result.skipped += len(contact_ids) - len(held)
    contacts = list(Contact.objects.filter(pk__in=held, erased_at__isnull=True))
    gone = set(held) - {c.pk for c in contacts}
    if gone:  # erased after the selection was fixed: release, send nothing
        OutboxEntry.objects.filter(claim=token, contact_id__in=gone).update(
            status=OutboxStatus.DONE, claim=""
        )
        result.skipped += len(gone)
    plain = [c for c in contacts if not c.inactivated_at]
    outcomes: dict[int, PushOutcome] = {}
    for start in range(0, len(plain), SLICE_SIZE):
        part = plain[start : start + SLICE_SIZE]
        outcomes.update(upsert_many(part, client=client, mapping=mapping, run=run))
        still_working(run.pk, chunk_id=chunk_id, claim=token)
    for contact in contacts:
        if contact.inactivated_at:
            outcomes[contact.pk] = push_contact(
                contact, kinds={OutboxKind.UPSERT, OutboxKind.INACTIVATE},
                external_id=contact.external_id, client=client, mapping=mapping, run=run,
            )  # fmt: skip
            still_working(run.pk, chunk_id=chunk_id, claim=token)
    settle(token, contacts, outcomes)
    for outcome in outcomes.values():
        if outcome.ok:
            result.sent += 1
        elif outcome.transient:
            result.skipped += 1
        else:
            result.failed += 1
    return result


def hold_contacts(contact_ids: list[int], *, token: str | None = None) -> tuple[str, list[int]]:
    """Take the contacts as a live push takes them: an in-flight upsert entry each.

    A contact held by a live push, or waiting for an anonymize or inactivate, is left to the
    live push. A pending upsert is taken over: this send carries its change too.
    """
    token, now = token or uuid.uuid4().hex, timezone.now()
    with transaction.atomic():
        by_email = guard.take_turn()  # under e-mail deduplication, claims take turns
        locked = [
            guard.Claimed(*row)
            for row in Contact.objects.select_for_update(skip_locked=True)
            .filter(pk__in=contact_ids)
            .values_list(*guard.CLAIMED_FIELDS)
        ]
        open_entries = OutboxEntry.objects.filter(
            contact_id__in=[c.pk for c in locked],
            status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT],
        ).values_list("contact_id", "status", "kind")
        busy, adopted = set(), set()
        for contact_id, status, kind in open_entries:
            if status == OutboxStatus.IN_FLIGHT or kind != OutboxKind.UPSERT:
                busy.add(contact_id)
            else:
                adopted.add(contact_id)
        claimed = [c for c in locked if c.pk not in busy]
        mine = [c.pk for c in claimed]
        OutboxEntry.objects.filter(
            contact_id__in=adopted - busy, status=OutboxStatus.PENDING
        ).update(status=OutboxStatus.IN_FLIGHT, claim=token, claimed_at=now)
        fresh = [
            OutboxEntry(
                contact_id=pk,
                kind=OutboxKind.UPSERT,
                status=OutboxStatus.IN_FLIGHT,
                claim=token,
                claimed_at=now,
            )
            for pk in mine
            if pk not in adopted
        ]
        OutboxEntry.objects.bulk_create(fresh, batch_size=500)
        # Held for review, merged or kept local only: not sent (identity/guard.py).
        to_send = guard.screen_claimed(claimed, token=token, by_email=by_email)
    return token, to_send


def settle(token: str, contacts: list[Contact], outcomes: dict[int, PushOutcome]) -> None:
    """Write each outcome on the held entries and the contacts: in bulk for the accepted."""
    now = timezone.now()
    ok_ids = [c.pk for c in contacts if outcomes[c.pk].ok and not c.inactivated_at]
    ok_set = set(ok_ids)
    with transaction.atomic():
        OutboxEntry.objects.filter(
            claim=token, contact_id__in=ok_ids, status=OutboxStatus.IN_FLIGHT
        ).update(status=OutboxStatus.DONE, last_error="", claim="")
        # Earlier failures of these contacts are settled by this send (as by a retry).
        OutboxEntry.objects.filter(contact_id__in=ok_ids, status=OutboxStatus.FAILED).update(
            status=OutboxStatus.SUPERSEDED
        )
        newer = set(
            OutboxEntry.objects.filter(
                contact_id__in=ok_ids, status=OutboxStatus.PENDING
            ).values_list("contact_id", flat=True)
        )
        Contact.objects.filter(pk__in=[pk for pk in ok_ids if pk not in newer]).update(
            sync_status=SyncStatus.SYNCED, sync_error="", synced_at=now
        )
        Contact.objects.filter(pk__in=newer).update(
            sync_status=SyncStatus.PENDING, sync_error="", synced_at=now
        )
        # The state sent, for the consent rule's "changed since Spotler accepted it".
        Contact.objects.bulk_update(
            [Contact(pk=c.pk, pushed_changed_at=c.changed_at) for c in contacts if c.pk in ok_set],
            ["pushed_changed_at"],
            batch_size=500,
        )
    accepted = set(ok_ids)
    for contact in contacts:
        if contact.pk not in accepted:
            settle_entries(token=token, contact=contact, outcome=outcomes[contact.pk])


def beat(run_id: int) -> None:
    SyncRun.objects.filter(pk=run_id).update(heartbeat_at=timezone.now())


def still_working(run_id: int, *, chunk_id: int | None, claim: str) -> None:
    """Renew the chunk's claim (while this worker still holds it) and the run's heartbeat."""
    now = timezone.now()
    if chunk_id is not None:
        mine = BackfillChunk.objects.filter(pk=chunk_id, claim=claim, status=ChunkStatus.IN_FLIGHT)
        mine.update(claimed_at=now)
    SyncRun.objects.filter(pk=run_id).update(heartbeat_at=now)


def backfill_workers() -> int:
    clusters = settings.Q_CLUSTER.get("ALT_CLUSTERS", {})
    return int(clusters.get(settings.SYNC_BACKFILL_CLUSTER, {}).get("workers", 1))


def own_cluster_is_running() -> bool:
    """True if a backfill cluster is working the backfill queue right now."""
    return queue_presence.is_worked(settings.SYNC_BACKFILL_CLUSTER)


def queue_workers(run_id: int) -> None:
    """Workers on the run, as many as it started with: on the backfill cluster if one runs,
    else one slice at a time on the default one. How a run whose workers died is resumed."""
    if own_cluster_is_running():
        for _ in range(backfill_workers()):
            queue_worker(run_id)
    else:
        queue_slice(run_id)


def queue_next_slice(run_id: int) -> None:
    """After a slice on the default queue: the next one, or the backfill cluster's workers if
    one has started meanwhile."""
    SyncRun.objects.filter(pk=run_id).update(heartbeat_at=timezone.now())
    queue_workers(run_id)


def queue_worker(run_id: int) -> None:
    """One more worker on the run, on the backfill queue: it works until the run is done."""
    async_task(
        tasks.work_backfill,
        run_id,
        group="runs",
        q_options={"task_name": f"run {run_id} worker", "cluster": settings.SYNC_BACKFILL_CLUSTER},
    )


def queue_slice(run_id: int) -> None:
    """One slice of the run on the default queue, behind the live work queued before it."""
    async_task(
        tasks.work_backfill,
        run_id,
        slice_seconds=SLICE_SECONDS,
        group="runs",
        q_options={"task_name": f"run {run_id} slice"},
    )
