"""Sending a list's contacts to Spotler in chunks, from its checkpoint (spotler-api.md §10).

The list exists in Spotler before this runs (lists/budget.py made it), so a failure half-way
leaves a FAILED list with Spotler's reason and `checkpoint` contacts sent: it is on the lists
page, can be resumed from there, or deleted. Never an orphan.

Contacts of the list Spotler does not have yet are pushed first (lists/push_first.py; the list
is PUSHING meanwhile). The worker touches the list's heartbeat after each batch and chunk; a
list whose heartbeat stopped (its worker died) is picked up again by the schedule
(`recover_stalled_lists`) and goes on from its checkpoint. The heartbeat is also the worker's
claim: each touch is conditional on the value it wrote last, so a worker that was only slow,
not dead, finds the list taken over and stops instead of sending beside the new one.
"""

import contextlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

import spotler
from lists import push_first, tasks
from lists.models import TempList, TempListState
from sync.spotler_connection import spotler_client

# POST templist/{id} documents no maximum (spotler-api.md §2.8); 1,000 ids is about 20 kB.
CHUNK_SIZE = 1000
# States a worker holds a list in; its heartbeat must move while it does.
WORKING = (TempListState.PUSHING, TempListState.SENDING)


class TakenOver(Exception):
    """The list's heartbeat is not the one this worker wrote: another worker holds it now."""


class Claim:
    """This worker's hold on a list: its state and the heartbeat it wrote last."""

    def __init__(self, list_pk: int, state: str, beat: datetime) -> None:
        self.list_pk, self.state, self.beat = list_pk, state, beat

    def touch(self, *, state: str | None = None, **fields) -> None:
        """Move the heartbeat (and write `fields`, or a new state) if the list is still ours."""
        now = timezone.now()
        changes = {"heartbeat_at": now, **fields}
        if state is not None:
            changes["state"] = state
        moved = TempList.objects.filter(
            pk=self.list_pk, state=self.state, heartbeat_at=self.beat
        ).update(**changes)
        if not moved:
            raise TakenOver
        self.beat, self.state = now, state or self.state

    def finish(self, state: str, *, error: str = "", **fields) -> None:
        self.touch(state=state, error=error[:2000], finished_at=timezone.now(), **fields)


def send_list(
    list_pk: int,
    *,
    client: spotler.SpotlerClient | None = None,
    push_wait_seconds: float | None = None,
) -> str:
    """Push the list's contacts Spotler lacks, then add its contacts from the checkpoint on;
    claimed first (DRAFT → PUSHING), so it runs once."""
    now = timezone.now()
    claimed = TempList.objects.filter(pk=list_pk, state=TempListState.DRAFT).update(
        state=TempListState.PUSHING, error="", heartbeat_at=now
    )
    if not claimed:
        return f"list {list_pk} is not waiting to be sent"
    claim = Claim(list_pk, TempListState.PUSHING, now)
    client = client or spotler_client()
    try:
        return _push_then_send(claim, client=client, push_wait_seconds=push_wait_seconds)
    except TakenOver:
        return f"list {list_pk} was taken over by another worker; this one stopped"
    except Exception as error:
        # A bug, or the database gone: say so on the list (resumable) rather than leave it
        # sending until the schedule picks it up, again and again.
        # If even that fails, the schedule picks the list up once its heartbeat is old.
        with contextlib.suppress(Exception):
            claim.finish(TempListState.FAILED, error=f"Stopped by an error: {error!r}")
        raise


def _push_then_send(
    claim: Claim, *, client: spotler.SpotlerClient, push_wait_seconds: float | None
) -> str:
    list_pk = claim.list_pk
    made = TempList.objects.get(pk=list_pk)
    missing = push_first.missing_from_spotler(made.contact_ids[made.checkpoint :])
    if missing:
        claim.touch(to_push=len(missing))
        wait = settings.LISTS_PUSH_WAIT_SECONDS if push_wait_seconds is None else push_wait_seconds
        outcome = push_first.push_missing(
            missing,
            wait_until=push_first.wait_until(wait),
            beat=lambda waiting: _beat(claim, waiting),
            client=client,
        )
        if outcome.stopped:
            raise TakenOver
        made = _leave_out_failed(claim, made, outcome)
        if outcome.waiting:
            error = _waiting_error(outcome)
            claim.finish(TempListState.FAILED, error=error)
            return f"list {list_pk} failed: {error}"
    claim.touch(state=TempListState.SENDING, to_push=0)
    ids, position = made.contact_ids, made.checkpoint
    while position < len(ids):
        chunk = ids[position : position + CHUNK_SIZE]
        try:
            client.add_to_temporary_list(list_id=made.spotler_id, contact_ids=chunk)
        except spotler.SpotlerError as error:
            claim.finish(TempListState.FAILED, error=str(error))
            return f"list {list_pk} failed after {position} of {len(ids)}: {error}"
        position += len(chunk)
        claim.touch(checkpoint=position)
    claim.finish(TempListState.COMPLETE)
    return f"list {list_pk}: {len(ids)} contacts sent"


def _beat(claim: Claim, waiting: int) -> bool:
    try:
        claim.touch(to_push=waiting)
    except TakenOver:
        return False
    return True


def _leave_out_failed(claim: Claim, made: TempList, outcome: push_first.PushFirst) -> TempList:
    """Drop the contacts whose push Spotler refused for good from the list (they come after
    the checkpoint: only those were pushed), counted as left out; count those pushed."""
    failed = set(outcome.failed)
    kept = made.contact_ids[: made.checkpoint] + [
        i for i in made.contact_ids[made.checkpoint :] if i not in failed
    ]
    left_out = dict(made.left_out)
    if failed:
        left_out["push_failed"] = left_out.get("push_failed", 0) + len(failed)
    dropped = {"contact_ids": kept, "left_out": left_out} if failed else {}
    claim.touch(pushed_first=made.pushed_first + outcome.pushed, **dropped)
    made.contact_ids, made.left_out = kept, left_out
    made.pushed_first += outcome.pushed
    return made


def _waiting_error(outcome: push_first.PushFirst) -> str:
    when = (
        f"they are tried again from {timezone.localtime(outcome.retry_at):%H:%M}"
        if outcome.retry_at
        else "they are tried again shortly"
    )
    # The reason starts with Spotler's own words (sync/explain.py).
    words = f" {outcome.reason}" if outcome.reason else ""
    many = outcome.waiting != 1
    who = f"{outcome.waiting} contacts of the list are" if many else "1 contact of the list is"
    when = when if many else when.replace("they are", "it is")
    return (
        f"{who} not in Spotler yet, and a list can only name contacts Spotler has; {when}. "
        f"Resume the list once {'they are' if many else 'it is'} pushed.{words}"
    )


def resume_list(*, list_pk: int) -> bool:
    """Send a failed list's remaining contacts again, from its checkpoint; False when the
    list is not failed (a double click, or someone else resumed it)."""
    resumed = TempList.objects.filter(pk=list_pk, state=TempListState.FAILED).update(
        state=TempListState.DRAFT, heartbeat_at=timezone.now(), error=""
    )
    if resumed:
        transaction.on_commit(lambda: tasks.queue_send(list_pk))
    return bool(resumed)


def recover_stalled_lists(*, now: datetime | None = None) -> list[str]:
    """Lists whose worker stopped (killed, the machine gone) while pushing or sending: no
    heartbeat for LISTS_STALE_MINUTES. Each goes back to DRAFT and its send is queued again;
    it goes on from its checkpoint (adding a contact a list has already is harmless: Spotler's
    list is a set). A list waiting that long to be sent (its queue task was lost) is queued
    again too. Whoever moves the heartbeat first acts: a second run finds nothing to do, and a
    worker that was only slow finds the list taken over and stops."""
    now = now or timezone.now()
    stale = now - timedelta(minutes=settings.LISTS_STALE_MINUTES)
    quiet = TempList.objects.filter(state__in=(*WORKING, TempListState.DRAFT)).filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, created_at__lt=stale)
    )
    lines = []
    for found in quiet:
        if not TempList.objects.filter(
            pk=found.pk, state=found.state, heartbeat_at=found.heartbeat_at
        ).update(state=TempListState.DRAFT, heartbeat_at=now):
            continue
        since = found.heartbeat_at or found.created_at
        transaction.on_commit(lambda pk=found.pk: tasks.queue_send(pk))
        what = "waiting to be sent" if found.state == TempListState.DRAFT else found.state
        lines.append(
            f"list {found.pk} ({what}, no word since {timezone.localtime(since):%H:%M:%S}) "
            f"queued again from contact {found.checkpoint + 1}"
        )
    return lines
