"""The duplicates report: live ledger contacts that share an e-mail address, one group per
address, with what Spotler does with each group under the account's deduplication mode
(spotler-api.md §13.3), and which groups are households.

Addresses are compared on `email_lower`, the database's lower-case copy of the address: every
way into the ledger (the ingest API, the CSV import, a bounce's corrected address) refuses an
address with spaces around it rather than trimming it, and takes ASCII addresses only, so the
lower-case form is the trimmed, case-insensitive one (tests/identity/test_duplicates.py).

The grouping happens in the database, in two steps that stay cheap at a million contacts:
`GROUP BY email_lower HAVING COUNT(*) > 1` over the index on `email_lower` alone (no table
row is read) finds the shared addresses; then only the contacts of those addresses are read,
by index, and counted per address (how many, how many names, how many go to Spotler). What
Python keeps is one short row per shared address, which the figures, the filters and the
pages are cut from; only the contacts of the page shown are read whole.

Which group is a household: its members carry at least two different names, compared without
case and spaces ("Anna de Vries" = "anna devries"). Members with the same name, or without
one, are taken for one person entered twice.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Concat, Lower, NullIf, Replace
from django.db.models.lookups import IsNull

from contacts.models import Contact, SyncStatus
from identity.models import DedupeMode

PAGE_SIZE = 25
# Addresses per query when the contacts of many are read: few enough for PostgreSQL to look
# each up in the index rather than read the whole table (and for SQLite's 32,766 parameters).
# Groups per chunk of the CSV export.
ADDRESS_CHUNK = 1000
EXPORT_CHUNK = 500
HOUSEHOLDS = "households"
SAME_PERSON = "same_person"
KINDS = {HOUSEHOLDS: "Households", SAME_PERSON: "Same person twice"}
NAME_FIELDS = ("first_name", "middle_name", "last_name")


# Members an Admin kept out of Spotler: local only, or merged into another contact.
NOT_SENT = {SyncStatus.LOCAL_ONLY, SyncStatus.MERGED}


@dataclass(frozen=True)
class DuplicateFilters:
    search: str = ""  # the start of an address, any case
    kind: str = ""  # "", HOUSEHOLDS or SAME_PERSON


@dataclass(frozen=True)
class SharedAddress:
    """One shared address as the database counted it."""

    address: str  # lower case
    size: int  # live contacts
    names: int  # different names among them
    sent: int  # those Spotler gets (not kept local only or merged by an Admin)
    held: int = 0  # of those, held for review by the push guard (e-mail deduplication)

    @property
    def household(self) -> bool:
        return self.names > 1


@dataclass(frozen=True)
class Totals:
    """The whole ledger's shared addresses, whatever the filters."""

    groups: int = 0
    contacts: int = 0
    households: int = 0
    # Contacts beyond the first of their address that Spotler gets: under e-mail deduplication
    # they merge away into another contact; under externalId deduplication each is one more
    # copy of every mailing sent to the address.
    extra: int = 0
    # Under e-mail deduplication: those of `extra` that the push guard holds for an Admin
    # instead of letting them merge, and those that merge (or merged) into another.
    held: int = 0
    merged_away: int = 0

    @property
    def same_person(self) -> int:
        return self.groups - self.households


@dataclass(frozen=True)
class DuplicateGroup:
    address: str  # lower case
    # In the order Spotler gets them: those it already has first, then by creation.
    members: list[Contact]
    household: bool

    @property
    def sent(self) -> list[Contact]:
        """The members Spotler gets (not those an Admin kept local only or merged)."""
        return [c for c in self.members if c.sync_status not in NOT_SENT]

    @property
    def kept_local(self) -> list[Contact]:
        return [c for c in self.members if c.sync_status in NOT_SENT]

    def verdict(self, mode: str) -> str:
        """What Spotler does with the group under `mode`, in plain words. Under e-mail
        deduplication the push guard holds a member that would merge (identity/guard.py)."""
        held = [c.external_id for c in self.sent if c.sync_status == SyncStatus.HELD]
        if mode != DedupeMode.EMAIL:
            held = []  # the guard holds nothing under externalId deduplication
        sent = [c.external_id for c in self.sent if c.external_id not in held]
        local = [c.external_id for c in self.kept_local if c.sync_status == SyncStatus.LOCAL_ONLY]
        merged = [c.external_id for c in self.kept_local if c.sync_status == SyncStatus.MERGED]
        if not sent and not held:
            return f"Spotler gets none of them: {_out_of_spotler(local, merged)}."
        if not sent:
            said = "Spotler has none of them yet"
        elif len(sent) == 1:
            said = f"Spotler keeps one contact, {sent[0]}"
        elif mode == DedupeMode.EMAIL:
            s = "s" if len(sent) == 2 else ""
            said = (
                f"Spotler keeps one contact: {_names(sent[1:])} merge{s} into {sent[0]}'s contact "
                f"and rewrite{s} its external id, which ends up as {sent[-1]}"
            )
        else:
            said = f"Spotler keeps {len(sent)} contacts; each gets the same mailing"
        if held:
            said += (
                f"; {_names(held)} would merge into it and {_are(held)} held for review until "
                "an Admin decides"
            )
        if local or merged:
            said += f"; {_out_of_spotler(local, merged)}"
        return said + "."


@dataclass(frozen=True)
class DuplicatesPage:
    groups: list[DuplicateGroup]
    number: int
    per_page: int
    totals: Totals
    total: int  # shared addresses the filters choose

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number * self.per_page < self.total

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def read_duplicates(
    *, filters: DuplicateFilters, page: int = 1, per_page: int = PAGE_SIZE
) -> DuplicatesPage:
    """One page of the shared addresses the filters choose, in address order, with the totals."""
    page = max(1, page)
    shared = count_shared_addresses()
    chosen = choose(shared, filters=filters)
    start = (page - 1) * per_page
    return DuplicatesPage(
        groups=with_members(chosen[start : start + per_page]),
        number=page,
        per_page=per_page,
        totals=totals_of(shared),
        total=len(chosen),
    )


def iter_duplicates(filters: DuplicateFilters) -> Iterator[DuplicateGroup]:
    """Every group the filters choose, in address order, a chunk of groups at a time."""
    chosen = choose(count_shared_addresses(), filters=filters)
    for start in range(0, len(chosen), EXPORT_CHUNK):
        yield from with_members(chosen[start : start + EXPORT_CHUNK])


def count_duplicates() -> Totals:
    return totals_of(count_shared_addresses())


def household_ids(filters: DuplicateFilters) -> list[str]:
    """The external ids of the households' members (within the search), in address order."""
    wanted = DuplicateFilters(search=filters.search, kind=HOUSEHOLDS)
    households = choose(count_shared_addresses(), filters=wanted)
    addresses = [shared.address for shared in households]
    ids: list[str] = []
    for start in range(0, len(addresses), ADDRESS_CHUNK):
        members = live_with_address().filter(
            email_lower__in=addresses[start : start + ADDRESS_CHUNK]
        )
        ids += members.order_by(*SPOTLER_ORDER).values_list("external_id", flat=True)
    return ids


def totals_of(shared: list[SharedAddress]) -> Totals:
    return Totals(
        groups=len(shared),
        contacts=sum(s.size for s in shared),
        households=sum(1 for s in shared if s.household),
        extra=sum(max(s.sent - 1, 0) for s in shared),
        held=sum(s.held for s in shared),
        merged_away=sum(max(s.sent - s.held - 1, 0) for s in shared),
    )


def choose(shared: list[SharedAddress], *, filters: DuplicateFilters) -> list[SharedAddress]:
    """The shared addresses of the kind the filters ask for, starting with their search."""
    start = filters.search.strip().lower()
    wanted = {HOUSEHOLDS: True, SAME_PERSON: False}.get(filters.kind)
    return [
        s
        for s in shared
        if s.address.startswith(start) and (wanted is None or s.household == wanted)
    ]


def count_shared_addresses() -> list[SharedAddress]:
    """Every address two or more live contacts share, counted, in address order."""
    addresses = list(shared_addresses())
    counted: list[SharedAddress] = []
    for start in range(0, len(addresses), ADDRESS_CHUNK):
        members = live_with_address().filter(
            email_lower__in=addresses[start : start + ADDRESS_CHUNK]
        )
        rows = (
            members.values("email_lower")
            .annotate(
                size=Count("pk"),
                names=Count(NullIf(name_key(), Value("")), distinct=True),
                sent=Count("pk", filter=~Q(sync_status__in=NOT_SENT)),
                held=Count("pk", filter=Q(sync_status=SyncStatus.HELD)),
            )
            .filter(size__gt=1)
            .order_by("email_lower")
        )
        counted += [SharedAddress(address=row.pop("email_lower"), **row) for row in rows]
    return counted


def shared_addresses() -> QuerySet:
    """The addresses (lower case) that two or more contacts hold, in order: those of live
    contacts, as an erased contact keeps no address (contacts/ingest.py `erase_contact`).
    Read from the index on `email_lower` alone."""
    found = Contact.objects.filter(email_lower__gt="").values("email_lower")
    found = found.annotate(n=Count("email_lower")).filter(n__gt=1)
    return found.order_by("email_lower").values_list("email_lower", flat=True)


def live_with_address() -> QuerySet:
    return Contact.objects.live().exclude(email_lower="")


def name_key() -> Lower:
    """The contact's name as `Contact.name` reads it, lower case and without spaces."""
    parts = [
        Coalesce(KeyTextTransform(f, "fields"), Value(""), output_field=TextField())
        for f in NAME_FIELDS
    ]
    name = Coalesce(
        NullIf(Concat(*parts, output_field=TextField()), Value("")),
        KeyTextTransform("name", "fields"),
        Value(""),
        output_field=TextField(),
    )
    return Lower(Replace(name, Value(" "), Value("")))


# The order Spotler gets an address's contacts in: those it has (pushed at least once) first,
# then by creation in the ledger, which is the order the push sends new contacts in.
SPOTLER_ORDER = ("email_lower", IsNull(F("synced_at"), True), "created_at", "pk")


def with_members(shared: list[SharedAddress]) -> list[DuplicateGroup]:
    """The groups of `shared` with their contacts, read in one query."""
    members: dict[str, list[Contact]] = {s.address: [] for s in shared}
    found = live_with_address().filter(email_lower__in=list(members)).order_by(*SPOTLER_ORDER)
    for contact in found:
        members[contact.email_lower].append(contact)
    return [
        DuplicateGroup(address=s.address, members=members[s.address], household=s.household)
        for s in shared
    ]


def _names(ids: list[str]) -> str:
    if len(ids) <= 1:
        return "".join(ids)
    return f"{', '.join(ids[:-1])} and {ids[-1]}"


def _out_of_spotler(local: list[str], merged: list[str]) -> str:
    """Who an Admin kept out of Spotler, and how."""
    said = [f"{_names(local)} {_are(local)} kept local only"] if local else []
    if merged:
        said.append(f"{_names(merged)} {_are(merged)} merged into another contact by an Admin")
    return "; ".join(said)


def _are(ids: list) -> str:
    return "is" if len(ids) == 1 else "are"
