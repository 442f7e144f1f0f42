"""Deleting our temporary lists, now or when they expire; a list Spotler says is in use is
tried again later (spotler-api.md §10: 400 "Temporary list in use").

Only lists of ours are ever addressed: other systems' lists have no `TempList` row.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import spotler
from audit import trail
from lists import budget, tasks
from lists.models import DELETABLE, TempList, TempListState
from sync.spotler_connection import spotler_client


def request_delete(*, list_pk: int, actor: trail.Actor = None) -> bool:
    """Mark the list for deletion and queue the delete; False when it cannot be deleted now
    (it is sending, or already deleted). `actor`: who asked, for the audit trail (None: the
    system, e.g. a refresh retiring the list it replaced)."""
    with transaction.atomic():
        found = TempList.objects.filter(pk=list_pk, state__in=DELETABLE).first()
        marked = TempList.objects.filter(pk=list_pk, state__in=DELETABLE).update(
            state=TempListState.DELETING, next_delete_at=None
        )
        if marked and found is not None:
            trail.record(
                actor=actor, action="deleted", object_type="temporary list", obj=found,
                object_label=found.name,
                before={"state": found.state}, after={"state": TempListState.DELETING},
            )  # fmt: skip
    if marked:
        transaction.on_commit(lambda: tasks.queue_delete(list_pk))
    return bool(marked)


def delete_list(list_pk: int, *, client: spotler.SpotlerClient | None = None) -> str:
    """Delete a list marked DELETING in Spotler; "in use" (or a transient failure) leaves it
    waiting for the schedule's next try."""
    found = TempList.objects.filter(pk=list_pk, state=TempListState.DELETING).first()
    if found is None:
        return f"list {list_pk} is not being deleted"
    client = client or spotler_client()
    now = timezone.now()
    try:
        client.delete_temporary_list(found.spotler_id)
    except spotler.SpotlerError as error:
        if error.status != 404:
            in_use = "in use" in error.message.lower()
            TempList.objects.filter(pk=list_pk).update(
                state=TempListState.DELETE_PENDING_IN_USE if in_use else TempListState.DELETING,
                next_delete_at=now + timedelta(minutes=settings.LISTS_IN_USE_RETRY_MINUTES),
                delete_attempts=found.delete_attempts + 1,
                error=str(error)[:2000],
            )
            return f"list {list_pk} not deleted yet: {error}"
        # Spotler no longer has it (deleted elsewhere, or by an earlier attempt): gone.
    TempList.objects.filter(pk=list_pk).update(
        state=TempListState.DELETED, deleted_at=now, next_delete_at=None, error=""
    )
    budget.forget_counted_budget()
    return f"list {list_pk} deleted"


def expire_temporary_lists(*, now: datetime | None = None) -> str:
    """Delete every list past its end date or replaced by a complete list, and retry the
    deletes that are due."""
    now = now or timezone.now()
    expired = list(TempList.objects.expired(now).values_list("pk", flat=True))
    # Lists whose replacement (a refresh, lists/refresh.py) is complete: the send deletes them
    # at once; this catches one missed (a worker that stopped between the two).
    replaced = list(
        TempList.objects.filter(
            replaced_by__state=TempListState.COMPLETE,
            state__in=(TempListState.COMPLETE, TempListState.FAILED),
        )
        .exclude(pk__in=expired)
        .values_list("pk", flat=True)
    )
    TempList.objects.filter(pk__in=[*expired, *replaced]).update(state=TempListState.DELETING)
    due = list(
        TempList.objects.filter(
            state__in=(TempListState.DELETING, TempListState.DELETE_PENDING_IN_USE),
            next_delete_at__lte=now,
        )
        .exclude(pk__in=[*expired, *replaced])
        .values_list("pk", flat=True)
    )
    TempList.objects.filter(pk__in=due).update(state=TempListState.DELETING)
    pks = [*expired, *replaced, *due]
    if not pks:
        return "no list to delete"
    client = spotler_client()
    results = [delete_list(pk, client=client) for pk in pks]
    deleted = sum(1 for line in results if line.endswith("deleted"))
    return (
        f"{deleted} of {len(pks)} lists deleted ({len(expired)} expired, {len(due)} retried, "
        f"{len(replaced)} replaced)"
    )
