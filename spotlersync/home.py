"""What each role sees first on the home page: an Account manager their open bounce follow-ups
and what is overdue; a Marketer the mapping's state, the temporary-list budget, push lag and
failed contacts; an Admin all of that and the queue (whose internals stay off everyone else's
home). Each part is read only for a user whose role shows it."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone

from bounces.models import FollowUp
from contacts.models import Contact, SyncStatus
from identity.models import SpotlerAccount
from lists.budget import BUDGET_CACHE_KEY, read_budget_for_page
from mapping.stored_catalogue import mapping_drift
from mapping.versions import current_version
from spotlersync.cache_outage import cached
from sync.health import push_lag, read_outbox_counts

URGENT_SHOWN = 5
# The list budget is Spotler's own count (GET templist): read at most once a minute for the
# home pages of everyone, with short timeouts, so a slow Spotler never slows home.
BUDGET_CACHE_SECONDS = 60
WHAT = "home reads the temporary-list budget from Spotler each time"


@dataclass(frozen=True)
class FollowUpWork:
    open: int
    overdue: int
    due_today: int
    urgent: list[FollowUp]  # overdue first, then the soonest due


def followup_work(user, *, now: datetime | None = None) -> FollowUpWork:
    now = now or timezone.now()
    mine = FollowUp.objects.visible_to(user).unresolved().order_by()
    end_of_day = timezone.localtime(now).replace(hour=23, minute=59, second=59)
    counts = mine.aggregate(
        open=Count("pk"),
        overdue=Count("pk", filter=Q(due_at__lt=now)),
        due_today=Count("pk", filter=Q(due_at__gte=now, due_at__lte=end_of_day)),
    )
    urgent = list(mine.select_related("contact", "owner").order_by("due_at", "pk")[:URGENT_SHOWN])
    return FollowUpWork(counts["open"], counts["overdue"], counts["due_today"], urgent)


@dataclass(frozen=True)
class PushState:
    waiting: int  # changes accepted from the linked system, not yet in Spotler
    oldest_waiting: datetime | None
    lag_median: float | None  # seconds, accepted by us → accepted by Spotler, last hour
    failed_contacts: int
    # Held for review: a second external id of an address, under e-mail deduplication
    # (identity/guard.py); shown when there are any, or when the account deduplicates on e-mail.
    held_contacts: int = 0
    dedupes_on_email: bool = False

    @property
    def shows_held(self) -> bool:
        return bool(self.held_contacts) or self.dedupes_on_email

    @property
    def oldest_age(self) -> timedelta | None:
        return timezone.now() - self.oldest_waiting if self.oldest_waiting else None


def push_state(*, now: datetime | None = None) -> PushState:
    now = now or timezone.now()
    outbox = read_outbox_counts()
    lag_median, _ = push_lag(now=now)
    return PushState(
        waiting=outbox.waiting,
        oldest_waiting=outbox.oldest_waiting,
        lag_median=lag_median,
        failed_contacts=Contact.objects.failed().count(),
        held_contacts=Contact.objects.filter(sync_status=SyncStatus.HELD).count(),
        dedupes_on_email=SpotlerAccount.current().dedupes_on_email,
    )


@dataclass(frozen=True)
class MappingState:
    number: int
    saved_at: datetime | None
    author: str
    drift: list[str]  # sentences: mapped properties the Spotler account no longer fits


def mapping_state() -> MappingState:
    version = current_version()
    author = version.author.get_username() if version.author else ""
    return MappingState(version.number, version.created_at, author, mapping_drift())


@dataclass(frozen=True)
class ListBudgetState:
    limit: int = 0
    in_use: int = 0
    ours: int = 0
    others: int = 0
    error: str = ""

    @property
    def free(self) -> int:
        return max(0, self.limit - self.in_use)


def list_budget_state() -> ListBudgetState:
    """The account's temporary lists against the limit, as Spotler counted them within the
    last minute; the error in words when Spotler could not be asked."""
    seen = cached(cache.get, BUDGET_CACHE_KEY, what=WHAT)
    if isinstance(seen, ListBudgetState):
        return seen
    budget, error = read_budget_for_page()
    if budget is None:
        state = ListBudgetState(error=error)
        cached(cache.set, BUDGET_CACHE_KEY, state, 15, what=WHAT)  # try again soon
        return state
    state = ListBudgetState(
        budget.limit, budget.in_use, len(budget.ours), len(budget.others), error=""
    )
    cached(cache.set, BUDGET_CACHE_KEY, state, BUDGET_CACHE_SECONDS, what=WHAT)
    return state
