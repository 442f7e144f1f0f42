"""The inbox's figures: resolving bounces made measurable.

Every figure covers the follow-ups the viewer may see (an Account manager's own, an Admin's all)
and is answered by the database in a few grouped queries, whatever the number of follow-ups.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F
from django.db.models.functions import TruncWeek
from django.utils import timezone

from bounces.models import FollowUp, FollowUpState, Resolution

WEEKS = 12


@dataclass(frozen=True)
class Week:
    start: datetime
    opened: int
    resolved: int


@dataclass(frozen=True)
class InboxFigures:
    open_per_owner: list[tuple[str, int]]  # (username or "unassigned", count), most first
    median_to_resolve: timedelta | None  # over follow-ups resolved in the last WEEKS weeks
    resolved_count: int
    resolutions: list[tuple[str, int]]  # (label, count) in the last WEEKS weeks
    overdue: int
    weeks: list[Week]

    @property
    def busiest_week(self) -> int:
        return max([1, *(max(w.opened, w.resolved) for w in self.weeks)])


def inbox_figures(*, user, now: datetime | None = None) -> InboxFigures:
    now = now or timezone.now()
    mine = FollowUp.objects.visible_to(user).order_by()
    first_week = week_start(now) - timedelta(weeks=WEEKS - 1)
    resolved = mine.filter(state=FollowUpState.DONE, resolved_at__gte=first_week)
    return InboxFigures(
        open_per_owner=open_per_owner(mine),
        median_to_resolve=median_duration(resolved),
        resolved_count=resolved.count(),
        resolutions=resolutions_by_kind(resolved),
        overdue=mine.overdue(now).count(),
        weeks=weekly(mine, since=first_week),
    )


def open_per_owner(followups) -> list[tuple[str, int]]:
    rows = followups.unresolved().values_list("owner__username").annotate(n=Count("id"))
    return sorted(((name or "unassigned", n) for name, n in rows), key=lambda r: (-r[1], r[0]))


def median_duration(resolved) -> timedelta | None:
    """The middle time from opening to resolving (the lower middle of an even count)."""
    took = ExpressionWrapper(F("resolved_at") - F("opened_at"), output_field=DurationField())
    count = resolved.count()
    if not count:
        return None
    ordered = resolved.annotate(took=took).order_by("took").values_list("took", flat=True)
    return ordered[(count - 1) // 2]


def resolutions_by_kind(resolved) -> list[tuple[str, int]]:
    counts = dict(resolved.values_list("resolution").annotate(n=Count("id")))
    return [(label, counts[value]) for value, label in Resolution.choices if counts.get(value)]


def weekly(followups, *, since: datetime) -> list[Week]:
    opened = _per_week(followups.filter(opened_at__gte=since), "opened_at")
    resolved = _per_week(followups.filter(resolved_at__gte=since), "resolved_at")
    starts = [since + timedelta(weeks=n) for n in range(WEEKS)]
    return [
        Week(start, opened.get(start.date(), 0), resolved.get(start.date(), 0)) for start in starts
    ]


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 (local time) of `moment`'s week."""
    local = timezone.localtime(moment)
    monday = local - timedelta(days=local.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


def _per_week(followups, field: str) -> dict:
    rows = followups.annotate(week=TruncWeek(field)).values_list("week").annotate(n=Count("id"))
    return {timezone.localtime(week).date(): n for week, n in rows}


CHART_HEIGHT = 110  # px of the tallest bar in the weekly chart's SVG
CHART_BASE = 125  # y of the axis


def chart_bars(figures: InboxFigures) -> list[dict]:
    """The weekly chart's bars: SVG coordinates for each week's opened and resolved counts."""
    peak = figures.busiest_week
    bars = []
    for n, week in enumerate(figures.weeks):
        opened = round(week.opened * CHART_HEIGHT / peak)
        resolved = round(week.resolved * CHART_HEIGHT / peak)
        x = 40 + n * 38
        bars.append({
            "week": week, "x_opened": x, "x_resolved": x + 15, "x_label": x + 14,
            "h_opened": opened, "y_opened": CHART_BASE - opened,
            "h_resolved": resolved, "y_resolved": CHART_BASE - resolved,
        })  # fmt: skip
    return bars
