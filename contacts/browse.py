"""Reading the ledger for the dashboard's contacts pages: a filtered list, one page at a time,
and one contact with its orders and what came back from Spotler about it.

The list never counts all its rows: on a ledger of 100,000 that is a full scan per page view.
A page is read with one row more than it shows (that row only says whether there is a next
page). The counts per sync state, which the page shows, follow the other filters in force and
stop at COUNT_CAP; below it they also give the total, and so the number of pages. Every query
here is answered from an index, whatever the size of the ledger (the consent filter reads each
candidate's Spotler state by its unique contact key).
"""

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, Q

from bounces import followups
from contacts import sentences
from contacts import standing as standings
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
    consent: str = ""  # "<bit>:on" or "<bit>:off", as Spotler last reported it

    @property
    def any(self) -> bool:
        """Any filter besides the state is in force."""
        return bool(self.search or self.language or self.account_manager or self.consent)


@dataclass(frozen=True)
class StateCount:
    value: str
    label: str
    count: int  # at most COUNT_CAP + 1 when `capped`
    capped: bool = True

    @property
    def more(self) -> bool:
        """The count stopped at the cap: there are more than COUNT_CAP."""
        return self.capped and self.count > COUNT_CAP


@dataclass(frozen=True)
class ContactListing:
    contacts: list[Contact]
    number: int
    has_next: bool
    per_page: int
    state_counts: list[StateCount]
    languages: list[str]
    account_managers: list[str]
    permissions: dict[int, standings.Permission] = field(default_factory=dict)
    # Known when the counts are (below the cap); otherwise the page shows "next" only.
    total: int | None = None
    filtered: bool = False  # the counts are among the contacts the other filters choose

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
class FeedLine:
    change: Change
    sentence: str


@dataclass(frozen=True)
class ContactRecord:
    contact: Contact
    orders: list[Order]
    order_count: int
    changes: list[FeedLine] = field(default_factory=list)
    standing: standings.Standing | None = None
    permissions: dict[int, standings.Permission] = field(default_factory=dict)


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
    has_next, rows = len(rows) > per_page, rows[:per_page]
    permissions = standings.known_permissions()
    consents = standings.consents_of([c.pk for c in rows], permissions=permissions)
    for contact in rows:
        contact.standing = standings.standing_of(
            contact, consents=consents.get(contact.pk, []), bounced=bool(contact.open_followup_id)
        )
    counts = count_by_state(filters)
    total = None
    # With no state chosen, every contact counts once in one sync state (tombstones too).
    chosen = [
        c
        for c in counts
        if c.value == filters.state
        or (not filters.state and c.value not in {ERASED, followups.BOUNCED})
    ]
    if chosen and not any(c.more for c in chosen):
        total = sum(c.count for c in chosen)
    return ContactListing(
        contacts=rows,
        number=page,
        has_next=has_next,
        per_page=per_page,
        state_counts=counts,
        languages=distinct_values("language"),
        account_managers=distinct_values("account_manager"),
        permissions=permissions,
        total=total,
        filtered=filters.any,
    )


def filter_contacts(filters: ContactFilters, *, by_state: bool = True) -> ContactQuerySet:
    """The contacts `filters` choose; `by_state=False`: all but the state filter (the counts)."""
    contacts = Contact.objects.search(filters.search)
    state = filters.state if by_state else ""
    if state == ERASED:
        contacts = contacts.erased()
    elif state == followups.BOUNCED:
        contacts = followups.bounced_contacts(contacts)
    elif state:
        contacts = contacts.filter(sync_status=state)
    if filters.language:
        contacts = contacts.filter(language=filters.language)
    if filters.account_manager:
        contacts = contacts.filter(account_manager=filters.account_manager)
    if filters.consent:
        chosen = standings.consent_filter(filters.consent)
        contacts = contacts.filter(chosen) if chosen is not None else contacts
    return contacts


def count_by_state(filters: ContactFilters | None = None) -> list[StateCount]:
    """Contacts per sync state, and erased and bounced ones, among those the filters other than
    the state choose; unfiltered, each count stops at COUNT_CAP + 1.

    Counting every row of a large state costs a scan of the whole ledger on each page view;
    a capped count reads at most COUNT_CAP + 1 index entries per state.
    """
    filters = filters or ContactFilters()
    if not filters.any:
        counts = [
            StateCount(value, label, capped_count(Contact.objects.filter(sync_status=value)))
            for value, label in SyncStatus.choices
        ]
        erased = capped_count(Contact.objects.erased())
        bounced = followups.count_bounced(COUNT_CAP)
    else:
        # Among the chosen contacts, one grouped pass counts every state (exactly): a filter
        # narrows the ledger, and a capped count per state would read the chosen rows 8 times.
        chosen = filter_contacts(filters, by_state=False).order_by()
        grouped = chosen.values(
            "sync_status", gone=ExpressionWrapper(Q(erased_at__isnull=False), BooleanField())
        ).annotate(n=Count("pk"))
        per_state: dict[str, int] = {}
        erased = 0
        for row in grouped:
            per_state[row["sync_status"]] = per_state.get(row["sync_status"], 0) + row["n"]
            erased += row["n"] if row["gone"] else 0
        counts = [
            StateCount(value, label, per_state.get(value, 0), capped=False)
            for value, label in SyncStatus.choices
        ]
        bounced = capped_count(followups.bounced_contacts(chosen))
    return [
        *counts,
        StateCount(ERASED, "Erased", erased, capped=not filters.any),
        StateCount(followups.BOUNCED, "Bounced", bounced),
    ]


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
    contact = followups.with_open_followup(
        Contact.objects.filter(external_id_hash=hash_external_id(external_id))
    ).first()
    if contact is None:
        return None
    orders = contact.orders.order_by("-ordered_at", "-pk")
    changes = Change.objects.filter(external_id=external_id).order_by("-id")
    shown = list(orders[:ORDERS_SHOWN])
    permissions = standings.known_permissions()
    consents = standings.consents_of([contact.pk], permissions=permissions)[contact.pk]
    return ContactRecord(
        contact=contact,
        orders=shown,
        order_count=len(shown) if len(shown) < ORDERS_SHOWN else orders.count(),
        changes=[
            FeedLine(change, sentences.change_sentence(change, permissions=permissions))
            for change in changes[:CHANGES_SHOWN]
        ],
        standing=standings.standing_of(
            contact, consents=consents, bounced=bool(contact.open_followup_id)
        ),
        permissions=permissions,
    )


def describe_timeline(events: list, *, permissions: dict[int, standings.Permission]) -> None:
    """Give each timeline event its `sentence`, for the contact page."""
    for event in events:
        event.sentence = sentences.event_sentence(event, permissions=permissions)
