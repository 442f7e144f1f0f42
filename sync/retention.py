"""Forgetting old sync history: timeline events and finished runs past their retention.

Every push and pull that touches a contact leaves a `SyncEvent`, so the table grows with every
change; the nightly job deletes what is older than `SYNC_EVENT_RETENTION_DAYS`, except:
- each contact's latest event of each kind: its page still says when it was last pushed,
  pulled, anonymized... and what Spotler said then, however long ago;
- every event of a contact that is failed now: the reason stays until someone retries or
  dismisses it.
Finished runs older than that which no event points to any more go too, except the latest
successful run of each kind (the health page shows when each job last succeeded).

Deletes go a chunk at a time, each its own short statement, so neither memory nor a
transaction grows with the table, and a job stopped halfway has done part of the work.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, Max, Model, OuterRef, Q, QuerySet
from django.utils import timezone

from contacts.models import SyncStatus
from sync.models import SyncEvent, SyncRun, SyncRunStatus

CHUNK = 1000


@dataclass(frozen=True)
class Pruned:
    events: int
    runs: int
    cutoff: datetime


def prune_sync_history(*, now: datetime | None = None, days: int | None = None) -> Pruned:
    """Delete timeline events and finished runs older than `days` (the setting by default)."""
    days = settings.SYNC_EVENT_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    events = prune_events(cutoff=cutoff)
    runs = prune_runs(cutoff=cutoff)
    return Pruned(events=events, runs=runs, cutoff=cutoff)


def prune_events(*, cutoff: datetime) -> int:
    newer_of_same_kind = SyncEvent.objects.filter(
        contact=OuterRef("contact"), kind=OuterRef("kind")
    ).filter(Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), pk__gt=OuterRef("pk")))
    prunable = (
        SyncEvent.objects.filter(at__lt=cutoff)
        .filter(Exists(newer_of_same_kind))
        .exclude(contact__sync_status=SyncStatus.FAILED)
    )
    return delete_in_chunks(prunable, model=SyncEvent)


def prune_runs(*, cutoff: datetime) -> int:
    latest_successes = (
        SyncRun.objects.filter(status=SyncRunStatus.SUCCEEDED)
        .values("kind")
        .annotate(last=Max("pk"))
        .values_list("last", flat=True)
    )
    prunable = (
        SyncRun.objects.filter(finished_at__lt=cutoff)
        .exclude(status__in=[SyncRunStatus.QUEUED, SyncRunStatus.RUNNING])
        .exclude(pk__in=list(latest_successes))
        .exclude(Exists(SyncEvent.objects.filter(run=OuterRef("pk"))))
    )
    return delete_in_chunks(prunable, model=SyncRun)


def delete_in_chunks(prunable: QuerySet, *, model: type[Model]) -> int:
    """Delete the rows of `prunable`, CHUNK at a time in primary-key order.

    Each chunk's delete filters again, so a row that stopped qualifying since it was read (its
    contact failed meanwhile) is kept.
    """
    deleted, after = 0, 0
    while ids := list(
        prunable.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:CHUNK]
    ):
        after = ids[-1]
        _, per_model = prunable.filter(pk__in=ids).delete()
        deleted += per_model.get(model._meta.label, 0)  # not the rows deleted with them
    return deleted
