"""Sending a list's contacts to Spotler in chunks, from its checkpoint (spotler-api.md §10).

The list exists in Spotler before this runs (lists/budget.py made it), so a failure half-way
leaves a FAILED list with Spotler's reason and `checkpoint` contacts sent: it is on the lists
page, can be resumed from there, or deleted. Never an orphan.
"""

from django.db import transaction
from django.utils import timezone

import spotler
from lists import tasks
from lists.models import TempList, TempListState
from sync.spotler_connection import spotler_client

# POST templist/{id} documents no maximum (spotler-api.md §2.8); 1,000 ids is about 20 kB.
CHUNK_SIZE = 1000


def send_list(list_pk: int, *, client: spotler.SpotlerClient | None = None) -> str:
    """Add the list's contacts from its checkpoint on; claimed first, so it runs once."""
    claimed = TempList.objects.filter(pk=list_pk, state=TempListState.DRAFT).update(
        state=TempListState.SENDING, error=""
    )
    if not claimed:
        return f"list {list_pk} is not waiting to be sent"
    made = TempList.objects.get(pk=list_pk)
    client = client or spotler_client()
    ids, position = made.contact_ids, made.checkpoint
    while position < len(ids):
        chunk = ids[position : position + CHUNK_SIZE]
        try:
            client.add_to_temporary_list(list_id=made.spotler_id, contact_ids=chunk)
        except spotler.SpotlerError as error:
            _finish(list_pk, TempListState.FAILED, error=str(error))
            return f"list {list_pk} failed after {position} of {len(ids)}: {error}"
        position += len(chunk)
        TempList.objects.filter(pk=list_pk).update(checkpoint=position)
    _finish(list_pk, TempListState.COMPLETE)
    return f"list {list_pk}: {len(ids)} contacts sent"


def resume_list(*, list_pk: int) -> bool:
    """Send a failed list's remaining contacts again, from its checkpoint; False when the
    list is not failed (a double click, or someone else resumed it)."""
    resumed = TempList.objects.filter(pk=list_pk, state=TempListState.FAILED).update(
        state=TempListState.DRAFT
    )
    if resumed:
        transaction.on_commit(lambda: tasks.queue_send(list_pk))
    return bool(resumed)


def _finish(list_pk: int, state: str, *, error: str = "") -> None:
    TempList.objects.filter(pk=list_pk, state=TempListState.SENDING).update(
        state=state, error=error[:2000], finished_at=timezone.now()
    )
