"""Reading the ledger for the dashboard's contacts pages: a filtered list, one page at a time,
and one contact with its orders and what came back from Spotler about it.

The list never counts all its rows: on a ledger of 100,000 that is a full scan per page view.
A page is read with one row more than it shows (that row only says whether there is a next
page). The counts per sync state, which the page shows, stop at COUNT_CAP; below it they also
give the total, and so the number of pages, when the state is the only filter. Every query here
is answered from an index, whatever the size of the ledger.
"""

from dataclasses import dataclass, field

from django.db import connection

from bounces import followups
from contacts.models import (
    Change,
    Contact,
    ContactQuerySet,
    Order,
    SyncStatus,
    hash_external_id,
)

PAGE_SIZE = 50
# Latest change first; the id breaks ties so pages never overlap (index contact_list_order_idx).
LIST_ORDER = ("-changed_at", "-pk")
# The list's state filter offers the sync states and, beside them, the erased tombstones.
ERASED = "erased"
STATE_CHOICES = [*SyncStatus.choices, (ERASED, "Erased"), (followups.BOUNCED, "Bounced")]
# The filter menus list at most this many languages and account managers.
MAX_CHOICES = 200
# State counts above this show as "more than"; see `count_by_state`.
COUNT_CAP = 10_000
ORDERS_SHOWN = 100
CHANGES_SHOWN = 50


@dataclass(frozen=True)
class ContactFilters:
    search: str = ""
    state: str = ""
    language: str = ""
    account_manager: str = ""

    @property
    def only_state(self) -> bool:
        return not (self.search or self.language or self.account_manager)


@dataclass(frozen=True)
class StateCount:
    value: str
    label: str
    count: int  # at most COUNT_CAP + 1

    @property
    def more(self) -> bool:
        """The count stopped at the cap: there are more than COUNT_CAP."""
        return self.count > COUNT_CAP


@dataclass(frozen=True)
class ContactListing:
    contacts: list[Contact]
    number: int
    has_next: bool
    per_page: int
    state_counts: list[StateCount]
    languages: list[str]
    account_managers: list[str]
    # Known only when the state is the only filter; otherwise the page shows "next" only.
    total: int | None = None

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def num_pages(self) -> int | None:
        if self.total is None:
            return None
        return max(1, -(-self.total // self.per_page))

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.contacts) - 1


@dataclass(frozen=True)
class ContactRecord:
    contact: Contact
    orders: list[Order]
    order_count: int
    changes: list[Change] = field(default_factory=list)


def browse_contacts(
    *, filters: ContactFilters, page: int = 1, per_page: int = PAGE_SIZE
) -> ContactListing:
    """One page of the contacts matching `filters`, newest change first, with the menus."""
    page = max(1, page)
    start = (page - 1) * per_page
    # Skip to the page in the ordering index alone, then read the full rows of that page only:
    # page 500 then costs 25,000 index entries, not 25,000 rows with their fields.
    ids = filter_contacts(filters).order_by(*LIST_ORDER).values("pk")[start : start + per_page + 1]
    rows = list(
        followups.with_open_followup(Contact.objects.filter(pk__in=ids)).order_by(*LIST_ORDER)
    )
    counts = count_by_state()
    total = None
    if filters.only_state:
        # With no state chosen, every contact counts once in one sync state (tombstones too).
        chosen = [
            c
            for c in counts
            if c.value == filters.state
            or (not filters.state and c.value not in {ERASED, followups.BOUNCED})
        ]
        if not any(c.more for c in chosen):
            total = sum(c.count for c in chosen)
    return ContactListing(
        contacts=rows[:per_page],
        number=page,
        has_next=len(rows) > per_page,
        per_page=per_page,
        state_counts=counts,
        languages=distinct_values("language"),
        account_managers=distinct_values("account_manager"),
        total=total,
    )


def filter_contacts(filters: ContactFilters) -> ContactQuerySet:
    contacts = Contact.objects.search(filters.search)
    if filters.state == ERASED:
        contacts = contacts.erased()
    elif filters.state == followups.BOUNCED:
        contacts = followups.bounced_contacts(contacts)
    elif filters.state:
        contacts = contacts.filter(sync_status=filters.state)
    if filters.language:
        contacts = contacts.filter(language=filters.language)
    if filters.account_manager:
        contacts = contacts.filter(account_manager=filters.account_manager)
    return contacts


def count_by_state() -> list[StateCount]:
    """Contacts per sync state, and erased ones; each count stops at COUNT_CAP + 1.

    Counting every row of a large state costs a scan of the whole ledger on each page view;
    a capped count reads at most COUNT_CAP + 1 index entries per state.
    """
    counts = [
        StateCount(value, label, capped_count(Contact.objects.filter(sync_status=value)))
        for value, label in SyncStatus.choices
    ]
    erased = capped_count(Contact.objects.erased())
    bounced = StateCount(followups.BOUNCED, "Bounced", followups.count_bounced(COUNT_CAP))
    return [*counts, StateCount(ERASED, "Erased", erased), bounced]


def capped_count(contacts: ContactQuerySet) -> int:
    return contacts.order_by()[: COUNT_CAP + 1].count()


# One index lookup per distinct value (a "loose index scan", which PostgreSQL does not do on its
# own for SELECT DISTINCT): cheap for the few languages and account managers of any ledger.
DISTINCT_SQL = """
WITH RECURSIVE found(value) AS (
    SELECT MIN({column}) FROM {table} WHERE {column} > ''
    UNION ALL
    SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > found.value)
    FROM found WHERE found.value IS NOT NULL
)
SELECT value FROM found WHERE value IS NOT NULL LIMIT %s
"""
DISTINCT_COLUMNS = {"language", "account_manager"}


def distinct_values(column: str) -> list[str]:
    """The non-blank values of an indexed column, sorted: what its filter menu offers."""
    if column not in DISTINCT_COLUMNS:
        raise ValueError(column)
    quote = connection.ops.quote_name
    sql = DISTINCT_SQL.format(column=quote(column), table=quote(Contact._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [MAX_CHOICES])
        return [row[0] for row in cursor.fetchall()]


def read_contact(*, external_id: str) -> ContactRecord | None:
    """The contact, erased or not, with its latest orders and feed entries; None when unknown."""
    contact = Contact.objects.filter(external_id_hash=hash_external_id(external_id)).first()
    if contact is None:
        return None
    orders = contact.orders.order_by("-ordered_at", "-pk")
    changes = Change.objects.filter(external_id=external_id).order_by("-id")
    shown = list(orders[:ORDERS_SHOWN])
    return ContactRecord(
        contact=contact,
        orders=shown,
        order_count=len(shown) if len(shown) < ORDERS_SHOWN else orders.count(),
        changes=list(changes[:CHANGES_SHOWN]),
    )
