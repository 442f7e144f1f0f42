"""Reading follow-ups for the inbox: a filtered page, the counts per state, one follow-up.

A page costs the same few queries whatever its size: the rows with their contact and owner
(`select_related`), one grouped count per state, and the figures (bounces/figures.py).
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from bounces.models import UNRESOLVED, FollowUp, FollowUpQuerySet, FollowUpState

PAGE_SIZE = 50
ORDER = ("-opened_at", "-id")
UNRESOLVED_STATE = "unresolved"
ALL_STATES = "all"
STATE_CHOICES = [
    (UNRESOLVED_STATE, "To do"),
    *FollowUpState.choices,
    (ALL_STATES, "All"),
]
AGE_CHOICES = [("", "Any age"), ("1", "Older than a day"), ("7", "Older than a week"),
               ("30", "Older than 30 days")]  # fmt: skip
UNASSIGNED = "unassigned"
UNMATCHED = "unmatched"


@dataclass(frozen=True)
class InboxFilters:
    state: str = UNRESOLVED_STATE
    kind: str = ""
    age: str = ""
    owner: str = ""  # a user id, UNASSIGNED or UNMATCHED (Admins only)
    overdue: bool = False


@dataclass(frozen=True)
class InboxPage:
    followups: list[FollowUp]
    number: int
    has_next: bool
    state_counts: dict[str, int]

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def browse_followups(
    *, user, filters: InboxFilters, page: int = 1, per_page: int = PAGE_SIZE
) -> InboxPage:
    page = max(1, page)
    start = (page - 1) * per_page
    rows = list(
        filter_followups(FollowUp.objects.visible_to(user), filters)
        .select_related("contact", "owner")
        .order_by(*ORDER)[start : start + per_page + 1]
    )
    return InboxPage(
        followups=rows[:per_page],
        number=page,
        has_next=len(rows) > per_page,
        state_counts=count_by_state(user),
    )


def filter_followups(followups: FollowUpQuerySet, filters: InboxFilters) -> FollowUpQuerySet:
    now = timezone.now()
    if filters.state == UNRESOLVED_STATE:
        followups = followups.filter(state__in=UNRESOLVED)
    elif filters.state in FollowUpState.values:
        followups = followups.filter(state=filters.state)
    if filters.kind:
        followups = followups.filter(kind=filters.kind)
    if filters.age:
        followups = followups.filter(opened_at__lt=now - timedelta(days=int(filters.age)))
    if filters.owner == UNASSIGNED:
        followups = followups.filter(owner__isnull=True)
    elif filters.owner == UNMATCHED:
        followups = followups.filter(owner_unmatched=True)
    elif filters.owner:
        followups = followups.filter(owner_id=int(filters.owner))
    if filters.overdue:
        followups = followups.overdue(now)
    return followups


def count_by_state(user) -> dict[str, int]:
    rows = FollowUp.objects.visible_to(user).order_by().values_list("state").annotate(n=Count("id"))
    counts = {state: 0 for state in FollowUpState.values} | dict(rows)
    counts[UNRESOLVED_STATE] = sum(counts[s] for s in UNRESOLVED)
    counts[ALL_STATES] = sum(counts[s] for s in FollowUpState.values)
    return counts


def open_count(user) -> int:
    """What the navigation shows beside "Bounces": the user's unresolved follow-ups."""
    return FollowUp.objects.visible_to(user).unresolved().count()


def find_followup(*, user, pk: int) -> FollowUp | None:
    """The follow-up if `user` may see it; None otherwise (the page answers 404 alike)."""
    return (
        FollowUp.objects.visible_to(user).select_related("contact", "owner", "resolved_by")
        .filter(pk=pk).first()
    )  # fmt: skip
