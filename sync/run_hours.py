"""The runs nobody started by hand (live pushes, scheduled pulls), added up per hour for the
Syncs page: one live push runs per burst of changes, so one by one they bury the manual runs."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from sync.models import SyncRun, SyncRunTrigger

AUTOMATIC = (SyncRunTrigger.LIVE, SyncRunTrigger.SCHEDULE)
HOURS = 24


@dataclass(frozen=True)
class RunHour:
    hour: datetime
    kind: str
    trigger: str
    label: str  # "Live push", "Scheduled pull of updated contacts", ...
    runs: int
    done: int  # contacts (or bounces) handled
    sent: int
    failed: int
    skipped: int


def automatic_runs_per_hour(*, now: datetime | None = None, hours: int = HOURS) -> list[RunHour]:
    """Per hour of the last `hours` and kind of run, newest first: how many runs, and their
    counts added up."""
    now = now or timezone.now()
    start = (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    rows = (
        SyncRun.objects.filter(trigger__in=AUTOMATIC, created_at__gte=start)
        .annotate(hour=TruncHour("created_at"))
        .values("hour", "kind", "trigger")
        .annotate(
            runs=Count("id"),
            done=Sum("done"),
            sent=Sum("sent"),
            failed=Sum("failed"),
            skipped=Sum("skipped"),
        )
        .order_by("-hour", "kind", "trigger")
    )
    return [
        RunHour(
            hour=row["hour"],
            kind=row["kind"],
            trigger=row["trigger"],
            label=SyncRun(kind=row["kind"], trigger=row["trigger"]).label,
            runs=row["runs"],
            done=row["done"],
            sent=row["sent"],
            failed=row["failed"],
            skipped=row["skipped"],
        )
        for row in rows
    ]


def hour_starting(text: str) -> datetime | None:
    """The hour a "see each run" link names (ISO 8601), or None when it names none."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if timezone.is_naive(moment):
        return None
    return moment.replace(minute=0, second=0, microsecond=0)
