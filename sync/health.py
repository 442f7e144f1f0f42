"""The sync's health in numbers a person can act on; read by the health page."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median, quantiles

from django.db.models import Count, F, Max, Min, Q
from django.db.models.functions import TruncHour
from django.utils import timezone
from django_q.models import Schedule

from mapping.models import CatalogueRefresh
from spotlersync.queue_status import QueueStatus, read_queue_status
from sync.models import (
    OutboxEntry,
    OutboxStatus,
    SyncEvent,
    SyncEventKind,
    SyncRun,
    SyncRunKind,
    SyncRunStatus,
)
from sync.ratelimit import throttled_until
from sync.schedules import scheduled_jobs

LAG_WINDOW = timedelta(hours=1)
CHART_HOURS = 48


@dataclass(frozen=True)
class ScheduleHealth:
    name: str
    minutes: int
    last_success: datetime | None
    overdue: bool
    note: str = ""


@dataclass(frozen=True)
class HourBar:
    hour: datetime
    pushed: int
    pulled: int


@dataclass
class Health:
    queue: QueueStatus
    pending: int
    failed: int
    oldest_pending: datetime | None
    lag_median: float | None  # seconds from accepted to in Spotler, last hour
    lag_p95: float | None
    pushes_last_hour: int
    push_errors_last_hour: int
    throttled_until: datetime | None
    schedules: list[ScheduleHealth] = field(default_factory=list)
    hours: list[HourBar] = field(default_factory=list)

    @property
    def error_rate(self) -> float | None:
        if not self.pushes_last_hour:
            return None
        return self.push_errors_last_hour / self.pushes_last_hour

    @property
    def oldest_pending_age(self) -> timedelta | None:
        return timezone.now() - self.oldest_pending if self.oldest_pending else None

    @property
    def peak(self) -> int:
        return max([1, *(max(h.pushed, h.pulled) for h in self.hours)])

    @property
    def chart(self) -> list[dict]:
        """SVG geometry for the hourly chart: bars 100 units high at the peak, 10 apart."""
        bars = []
        for i, hour in enumerate(self.hours):
            pushed = round(100 * hour.pushed / self.peak)
            pulled = round(100 * hour.pulled / self.peak)
            bars.append({
                "hour": hour.hour, "pushed": hour.pushed, "pulled": hour.pulled,
                "x": i * 10, "pushed_y": 100 - pushed, "pushed_h": pushed,
                "pulled_x": i * 10 + 4, "pulled_y": 100 - pulled, "pulled_h": pulled,
            })  # fmt: skip
        return bars


def read_health(*, now: datetime | None = None) -> Health:
    now = now or timezone.now()
    waiting = OutboxEntry.objects.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT])
    counts = OutboxEntry.objects.aggregate(
        pending=Count("pk", filter=Q(status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT])),
        failed=Count("pk", filter=Q(status=OutboxStatus.FAILED)),
    )
    lag_median, lag_p95 = _push_lag(now=now)
    pushes = SyncEvent.objects.filter(at__gte=now - LAG_WINDOW).exclude(kind=SyncEventKind.PULL)
    push_counts = pushes.aggregate(total=Count("pk"), errors=Count("pk", filter=Q(ok=False)))
    return Health(
        queue=read_queue_status(),
        pending=counts["pending"],
        failed=counts["failed"],
        oldest_pending=waiting.aggregate(oldest=Min("created_at"))["oldest"],
        lag_median=lag_median,
        lag_p95=lag_p95,
        pushes_last_hour=push_counts["total"],
        push_errors_last_hour=push_counts["errors"],
        throttled_until=throttled_until(),
        schedules=_schedules(now=now),
        hours=_hours(now=now),
    )


def _push_lag(*, now: datetime) -> tuple[float | None, float | None]:
    done = (
        OutboxEntry.objects.filter(status=OutboxStatus.DONE, updated_at__gte=now - LAG_WINDOW)
        .annotate(lag=F("updated_at") - F("created_at"))
        .values_list("lag", flat=True)[:5000]
    )
    lags = sorted(lag.total_seconds() for lag in done if lag is not None)
    if not lags:
        return None, None
    p95 = quantiles(lags, n=20)[-1] if len(lags) >= 2 else lags[0]
    return median(lags), p95


def _schedules(*, now: datetime) -> list[ScheduleHealth]:
    last_success = {
        "sync.tasks.pull_updates": SyncRun.objects.filter(
            kind=SyncRunKind.PULL_UPDATES, status=SyncRunStatus.SUCCEEDED
        ).aggregate(at=Max("finished_at"))["at"],
        "sync.tasks.pull_bounces": SyncRun.objects.filter(
            kind=SyncRunKind.PULL_BOUNCES, status=SyncRunStatus.SUCCEEDED
        ).aggregate(at=Max("finished_at"))["at"],
        "mapping.tasks.refresh_catalogue": CatalogueRefresh.objects.filter(ok=True).aggregate(
            at=Max("fetched_at")
        )["at"],
        "sync.tasks.push_outbox": SyncRun.objects.filter(
            kind=SyncRunKind.PUSH, status=SyncRunStatus.SUCCEEDED
        ).aggregate(at=Max("finished_at"))["at"],
    }
    next_runs = dict(Schedule.objects.values_list("name", "next_run"))
    result = []
    for job in scheduled_jobs():
        at = last_success.get(job.func)
        if job.func == "sync.tasks.push_outbox":
            # Pushes run when there is something to push; late only while changes wait.
            oldest = OutboxEntry.objects.pending().aggregate(o=Min("created_at"))["o"]
            overdue = oldest is not None and now - oldest > timedelta(minutes=2 * job.minutes + 1)
            note = "runs when there is something to push"
        elif job.func not in last_success:
            # Housekeeping leaves no record of its own: it is late when its schedule has fallen
            # behind, i.e. no cluster has taken it for a whole interval.
            next_run = next_runs.get(job.name)
            overdue = next_run is None or now - next_run > timedelta(minutes=job.minutes)
            note = "not set up: run manage.py setup_schedules" if next_run is None else ""
        else:
            overdue = at is None or now - at > timedelta(minutes=2 * job.minutes)
            note = "never succeeded yet" if at is None else ""
        result.append(ScheduleHealth(job.name, job.minutes, at, overdue, note))
    return result


def _hours(*, now: datetime) -> list[HourBar]:
    start = (now - timedelta(hours=CHART_HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    rows = (
        SyncEvent.objects.filter(at__gte=start, ok=True)
        .annotate(hour=TruncHour("at"))
        .values("hour")
        .annotate(
            pushed=Count("pk", filter=~Q(kind=SyncEventKind.PULL)),
            pulled=Count("pk", filter=Q(kind=SyncEventKind.PULL)),
        )
    )
    by_hour = {r["hour"]: r for r in rows}
    bars = []
    for i in range(CHART_HOURS):
        hour = start + timedelta(hours=i)
        row = by_hour.get(hour, {})
        bars.append(HourBar(hour, row.get("pushed", 0), row.get("pulled", 0)))
    return bars
