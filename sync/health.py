"""The sync's health in numbers a person can act on; read by the health page.

Each figure has a state (ok, warning, bad) from stated thresholds, and its colour follows it.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median, quantiles

from django.db.models import Count, F, Min, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from contacts.models import Contact, SyncStatus
from spotlersync.queue_status import QueueStatus, read_queue_status
from sync.models import OutboxEntry, OutboxStatus, SyncEvent, SyncEventKind
from sync.ratelimit import throttled_until
from sync.schedule_health import BAD, OK, WARNING, ScheduleHealth, read_schedule_health

LAG_WINDOW = timedelta(hours=1)
LAG_SAMPLE = 5000  # the latest accepted changes of the window the lag is computed from
CHART_HOURS = 48


@dataclass(frozen=True)
class Threshold:
    """A figure is ok below `warning`, a warning below `bad`, and bad from `bad` on."""

    warning: float
    bad: float
    unit: str  # "s" (seconds) or "%" (a rate from 0 to 1)

    def state(self, value: float | None) -> str:
        if value is None:
            return ""  # nothing measured: no colour
        return OK if value < self.warning else WARNING if value < self.bad else BAD

    def __str__(self) -> str:
        warning, bad = self._words(self.warning), self._words(self.bad)
        return f"green under {warning}, amber under {bad}, red from {bad}"

    def _words(self, value: float) -> str:
        if self.unit == "%":
            return f"{value * 100:g}%"
        return f"{value / 60:g} min" if value >= 60 else f"{value:g} s"


# The thresholds, stated on the page next to each figure.
WAITING_LIMITS = Threshold(warning=5 * 60, bad=15 * 60, unit="s")  # age of the oldest change
LAG_LIMITS = Threshold(warning=60, bad=5 * 60, unit="s")
ERROR_LIMITS = Threshold(warning=0.01, bad=0.05, unit="%")


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
    lag_median: float | None  # seconds from accepted to accepted by Spotler, last hour
    lag_p95: float | None
    pushes_last_hour: int
    push_errors_last_hour: int
    throttled_until: datetime | None
    held: int = 0  # contacts held for review (identity/guard.py)
    schedules: list[ScheduleHealth] = field(default_factory=list)
    hours: list[HourBar] = field(default_factory=list)
    limits: dict[str, Threshold] = field(
        default_factory=lambda: {
            "waiting": WAITING_LIMITS,
            "lag": LAG_LIMITS,
            "errors": ERROR_LIMITS,
        }
    )

    @property
    def error_rate(self) -> float | None:
        if not self.pushes_last_hour:
            return None
        return self.push_errors_last_hour / self.pushes_last_hour

    @property
    def error_percent(self) -> float | None:
        return None if self.error_rate is None else 100 * self.error_rate

    @property
    def oldest_pending_age(self) -> timedelta | None:
        return timezone.now() - self.oldest_pending if self.oldest_pending else None

    @property
    def waiting_state(self) -> str:
        age = self.oldest_pending_age
        return WAITING_LIMITS.state(age.total_seconds() if age else 0)

    @property
    def lag_state(self) -> str:
        return LAG_LIMITS.state(self.lag_median)

    @property
    def lag_p95_state(self) -> str:
        return LAG_LIMITS.state(self.lag_p95)

    @property
    def error_state(self) -> str:
        return ERROR_LIMITS.state(self.error_rate)

    @property
    def throttle_state(self) -> str:
        # Spotler asking to slow down: work goes on afterwards and nothing is lost.
        return WARNING if self.throttled_until else OK

    @property
    def chart(self) -> "Chart":
        return hour_chart(self.hours)


def read_health(*, now: datetime | None = None, chart: bool = True) -> Health:
    """The figures; with `chart`, also the hours of the chart (the costliest read)."""
    now = now or timezone.now()
    # Every count below reads an index only (outbox: status; timeline: at, kind, ok), never
    # the whole table: the page refreshes itself every 10 s over millions of rows.
    outbox = read_outbox_counts()
    lag_median, lag_p95 = push_lag(now=now)
    pushes = SyncEvent.objects.filter(at__gte=now - LAG_WINDOW).exclude(kind=SyncEventKind.PULL)
    push_counts = pushes.aggregate(total=Count("at"), errors=Count("at", filter=Q(ok=False)))
    return Health(
        queue=read_queue_status(),
        pending=outbox.waiting,
        failed=outbox.failed,
        oldest_pending=outbox.oldest_waiting,
        lag_median=lag_median,
        lag_p95=lag_p95,
        pushes_last_hour=push_counts["total"],
        push_errors_last_hour=push_counts["errors"],
        throttled_until=throttled_until(),
        held=Contact.objects.filter(sync_status=SyncStatus.HELD).count(),
        schedules=read_schedule_health(now=now),
        hours=read_hours(now=now) if chart else [],
    )


@dataclass(frozen=True)
class OutboxCounts:
    waiting: int  # changes pending or being pushed
    failed: int  # changes Spotler refused for good
    oldest_waiting: datetime | None  # when the oldest waiting change arrived


def read_outbox_counts() -> OutboxCounts:
    """The outbox's changes waiting and failed, read from its status index (the Health page,
    home and /metrics show them)."""
    waiting = [OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT]
    by_status = dict(
        OutboxEntry.objects.filter(status__in=[*waiting, OutboxStatus.FAILED])
        .values("status")
        .annotate(n=Count("*"))
        .values_list("status", "n")
    )
    oldest = OutboxEntry.objects.filter(status__in=waiting).aggregate(oldest=Min("created_at"))
    return OutboxCounts(
        waiting=sum(by_status.get(status, 0) for status in waiting),
        failed=by_status.get(OutboxStatus.FAILED, 0),
        oldest_waiting=oldest["oldest"],
    )


def push_lag(*, now: datetime) -> tuple[float | None, float | None]:
    """Median and 95th percentile of accepted (from the linked system) → accepted by Spotler,
    in seconds, over the changes Spotler accepted in the last hour (the latest LAG_SAMPLE)."""
    accepted = (
        OutboxEntry.objects.filter(accepted_at__gte=now - LAG_WINDOW)
        .order_by("-accepted_at")
        .annotate(lag=F("accepted_at") - F("created_at"))
        .values_list("lag", flat=True)[:LAG_SAMPLE]
    )
    lags = sorted(lag.total_seconds() for lag in accepted if lag is not None)
    if not lags:
        return None, None
    p95 = quantiles(lags, n=20, method="inclusive")[-1] if len(lags) >= 2 else lags[0]
    return median(lags), p95


def read_hours(*, now: datetime | None = None) -> list[HourBar]:
    """Contacts pushed and pulled in each of the last CHART_HOURS hours."""
    now = now or timezone.now()
    start = (now - timedelta(hours=CHART_HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    rows = (
        SyncEvent.objects.filter(at__gte=start, ok=True)
        .annotate(hour=TruncHour("at"))
        .values("hour")
        .annotate(
            pushed=Count("at", filter=~Q(kind=SyncEventKind.PULL)),
            pulled=Count("at", filter=Q(kind=SyncEventKind.PULL)),
        )
    )
    by_hour = {r["hour"]: r for r in rows}
    bars = []
    for i in range(CHART_HOURS):
        hour = start + timedelta(hours=i)
        row = by_hour.get(hour, {})
        bars.append(HourBar(hour, row.get("pushed", 0), row.get("pulled", 0)))
    return bars


# The chart's geometry, in SVG units: a plot 480 wide (a 10-unit slot per hour, two bars in
# each) and 120 high, with room on the left for the counts and below for the times.
PLOT_LEFT, PLOT_TOP, PLOT_WIDTH, PLOT_HEIGHT, SLOT = 40, 24, 480, 120, 10
X_TICK_HOURS = 6  # a time under every 6th hour (local time)


@dataclass(frozen=True)
class Tick:
    at: float  # x or y in SVG units
    value: int | datetime
    new_day: bool = False


@dataclass(frozen=True)
class Chart:
    top: int  # the count at the top of the y axis
    peak: int  # the highest bar
    bars: list[dict]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    left: int = PLOT_LEFT
    right: int = PLOT_LEFT + PLOT_WIDTH
    base: int = PLOT_TOP + PLOT_HEIGHT


def hour_chart(hours: list[HourBar]) -> Chart:
    """The bars and both axes of the hourly chart."""
    peak = max([0, *(max(h.pushed, h.pulled) for h in hours)])
    step = _nice_step(peak / 4)
    top = max(step, -(-peak // step) * step)  # the peak rounded up to a whole step
    base = PLOT_TOP + PLOT_HEIGHT
    y_ticks = [
        Tick(at=round(base - PLOT_HEIGHT * value / top, 1), value=value)
        for value in range(0, top + 1, step)
    ]
    bars, x_ticks = [], []
    for i, hour in enumerate(hours):
        x = PLOT_LEFT + i * SLOT
        pushed_h = round(PLOT_HEIGHT * hour.pushed / top, 1)
        pulled_h = round(PLOT_HEIGHT * hour.pulled / top, 1)
        bars.append({
            "hour": hour.hour, "pushed": hour.pushed, "pulled": hour.pulled,
            "pushed_x": x + 1, "pushed_y": round(base - pushed_h, 1), "pushed_h": pushed_h,
            "pulled_x": x + 5, "pulled_y": round(base - pulled_h, 1), "pulled_h": pulled_h,
        })  # fmt: skip
        local = timezone.localtime(hour.hour)
        if local.hour % X_TICK_HOURS == 0:
            x_ticks.append(Tick(at=x, value=hour.hour, new_day=local.hour == 0))
    return Chart(top=top, peak=peak, bars=bars, y_ticks=y_ticks, x_ticks=x_ticks)


def _nice_step(rough: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... not below `rough`: round numbers on the axis."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if factor * magnitude >= rough:
                return factor * magnitude
        magnitude *= 10
