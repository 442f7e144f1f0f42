"""The inbox's figures: resolving bounces made measurable.

Every figure covers the follow-ups the viewer may see (an Account manager's own, an Admin's all)
and is answered by the database in a few grouped queries, whatever the number of follow-ups.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F
from django.db.models.functions import TruncWeek
from django.utils import timezone

from bounces.models import Bounce, FollowUp, FollowUpState, LedgerState, Resolution
from spotlersync.roles import is_admin

WEEKS = 12


@dataclass(frozen=True)
class Week:
    start: datetime
    opened: int
    resolved: int


@dataclass(frozen=True)
class InboxFigures:
    open_per_owner: list[tuple[str, int]]  # (full name, else username, or "unassigned", count)
    median_to_resolve: timedelta | None  # over follow-ups resolved in the last WEEKS weeks
    resolved_count: int
    resolutions: list[tuple[str, int]]  # (label, count) in the last WEEKS weeks
    overdue: int
    weeks: list[Week]
    # Admins only (None for others): bounces in the last WEEKS weeks of contacts that are erased,
    # anonymized or unknown to the ledger, kept without a follow-up; (label, count) per state.
    without_followup: list[tuple[str, int]] | None = None

    @property
    def without_followup_total(self) -> int:
        return sum(n for _, n in self.without_followup or [])

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
        without_followup=bounces_without_followup(since=first_week) if is_admin(user) else None,
    )


def open_per_owner(followups) -> list[tuple[str, int]]:
    rows = (
        followups.unresolved()
        .values_list("owner__username", "owner__first_name", "owner__last_name")
        .annotate(n=Count("id"))
    )
    named = [(_person(*names), n) for *names, n in rows]
    return sorted(named, key=lambda r: (-r[1], r[0]))


def _person(username: str | None, first: str | None, last: str | None) -> str:
    full = f"{first or ''} {last or ''}".strip()
    return full or username or "unassigned"


WITHOUT_FOLLOWUP = [LedgerState.ERASED, LedgerState.ANONYMIZED, LedgerState.UNKNOWN]


def bounces_without_followup(*, since: datetime) -> list[tuple[str, int]]:
    """Bounces since `since` of contacts erased, anonymized or unknown to the ledger, per state
    (every state, zeros too, so the figure reads the same each time)."""
    counts = dict(
        Bounce.objects.filter(ledger_state__in=WITHOUT_FOLLOWUP, bounced_at__gte=since)
        .order_by()
        .values_list("ledger_state")
        .annotate(n=Count("id"))
    )
    return [(state.label.lower(), counts.get(state.value, 0)) for state in WITHOUT_FOLLOWUP]


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
