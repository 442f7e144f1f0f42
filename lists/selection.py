"""A selection of the ledger for a temporary list: who is in it, and who is left out and why.

Left out by default: erased and anonymized contacts, inactive ones, those whose every
permission (per the mapping in force, and as Spotler last reported it) is off, and those whose
push to Spotler failed. Inactive contacts and those without a permission can be included on
purpose (a service message needs no consent). Contacts not yet in Spotler are in the
selection: a list can only name contacts Spotler has (spotler-api.md §10), so they are pushed
first (lists/send.py).

The ledger is filtered and counted in the database (a preview of 100,000 contacts is two
queries); only contacts Spotler reported a permission off for are read here, to apply the
consent rule of sync/consent.py to them.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.db.models import Case, CharField, Count, Q, QuerySet, TextField, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Lower, Trim
from django.utils import timezone

from contacts.models import Contact, SyncStatus
from mapping.conversions import TRUE_WORDS
from mapping.current import mapping_in_force
from spotlersync.moments import EARLIEST_YEAR, LATEST_YEAR
from sync.consent import guard_permissions, shop_consent_changed_at
from sync.models import SpotlerConsent

if TYPE_CHECKING:
    from lists.models import TempList

SAMPLE_SIZE = 10
OPERATORS = {"equals": "equals", "contains": "contains", "empty": "is empty"}
LEFT_OUT_REASONS = {
    "erased": "Erased",
    "anonymized": "Anonymized",
    "inactive": "Inactive",
    "permissions_off": "All permissions off",
    "push_failed": "Could not be pushed to Spotler",
}
# Not in Spotler and not about to be: its push failed, or it is held for review, merged into
# another contact or kept local only (identity/guard.py). Left out as "push_failed".
NOT_PUSHED = (
    SyncStatus.FAILED, SyncStatus.DISMISSED, SyncStatus.HELD, SyncStatus.MERGED,
    SyncStatus.LOCAL_ONLY,
)  # fmt: skip
# The groups a Marketer may include on purpose, and when that is lawful.
INCLUDABLE = {
    "inactive": "Inactive contacts (made inactive, not erased: they can still be mailed)",
    "permissions_off": (
        "Contacts with every permission off: only for mail that needs no consent, such as a "
        "service message about an order"
    ),
}
DATE_FILTERS = {
    "first_purchase_from": ("first_purchase_at", "gte"),
    "first_purchase_to": ("first_purchase_at", "lt"),
    "last_purchase_from": ("last_purchase_at", "gte"),
    "last_purchase_to": ("last_purchase_at", "lt"),
}


class SelectionProblem(ValueError):
    """A filter that cannot be applied; the message says what to fix."""


@dataclass(frozen=True)
class SelectionFilters:
    language: str = ""
    account_manager: str = ""
    sync_state: str = ""
    first_purchase_from: str = ""
    first_purchase_to: str = ""
    last_purchase_from: str = ""
    last_purchase_to: str = ""
    source_field: str = ""
    operator: str = ""
    value: str = ""
    include: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        saved = {k: v for k, v in self.__dict__.items() if v}
        if self.include:
            saved["include"] = list(self.include)
        return saved

    def hidden_fields(self) -> list[tuple[str, str]]:
        """The filters as (name, value) pairs, for a form that sends them on."""
        pairs = [(k, v) for k, v in self.__dict__.items() if v and k != "include"]
        return pairs + [("include", group) for group in self.include]

    @classmethod
    def from_dict(cls, saved: dict) -> "SelectionFilters":
        """The filters saved with a list (`as_dict`); names no longer known are ignored."""
        known = cls.__dataclass_fields__
        values = {k: v for k, v in (saved or {}).items() if k in known}
        if "include" in values:
            values["include"] = tuple(values["include"])
        return cls(**values)

    def problems(self) -> list[str]:
        """What is wrong with these filters, in words that say what to fix."""
        found = []
        for name in DATE_FILTERS:
            text = getattr(self, name)
            day = _day(text)
            if text and day is None:
                found.append(f"{_label(name)}: “{text}” is not a date; write it as YYYY-MM-DD.")
            elif day and not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
                found.append(
                    f"{_label(name)}: {text} is out of range; the year must be from "
                    f"{EARLIEST_YEAR} to {LATEST_YEAR}."
                )
        for start, end in (
            ("first_purchase_from", "first_purchase_to"),
            ("last_purchase_from", "last_purchase_to"),
        ):
            first, last = _day(getattr(self, start)), _day(getattr(self, end))
            if first and last and first > last:
                found.append(f"{_label(start)} is after {_label(end).lower()}.")
        if self.sync_state and self.sync_state not in SyncStatus.values:
            found.append(f"Sync state “{self.sync_state}” is not one of ours.")
        if self.source_field and self.operator not in OPERATORS:
            found.append("Choose a test for the source field: equals, contains or is empty.")
        if self.source_field and self.operator in ("equals", "contains") and not self.value:
            found.append(f"Give a value for “{self.source_field}” {OPERATORS[self.operator]}.")
        unknown = [group for group in self.include if group not in INCLUDABLE]
        if unknown:
            found.append(f"These groups cannot be included: {', '.join(unknown)}.")
        return found


class Selection:
    """Who a list would name (`ids`, read when needed), how many, and who is left out why."""

    def __init__(
        self,
        *,
        size: int = 0,
        left_out: dict[str, int] | None = None,
        not_in_spotler: int = 0,
        sample: list[str] | None = None,
        ids: list[str] | None = None,
        load_ids=None,
    ) -> None:
        self.size = size if ids is None else len(ids)
        self.left_out = left_out if left_out is not None else dict.fromkeys(LEFT_OUT_REASONS, 0)
        # How many of `ids` are not in Spotler yet (pushed before the list names them).
        self.not_in_spotler = not_in_spotler
        self._ids = ids
        self._load_ids = load_ids
        self.sample = sample if sample is not None else (ids or [])[:SAMPLE_SIZE]

    @property
    def ids(self) -> list[str]:
        if self._ids is None:
            self._ids = self._load_ids() if self._load_ids else []
        return self._ids

    def left_out_lines(self) -> list[tuple[str, int]]:
        return [(in_a_sentence(LEFT_OUT_REASONS[r]), n) for r, n in self.left_out.items() if n]


def in_a_sentence(label: str) -> str:
    """A reason's label within a sentence: "Could not be pushed to Spotler" → "could not be
    pushed to Spotler" (a name keeps its capital)."""
    return label[:1].lower() + label[1:]


def select_contacts(filters: SelectionFilters) -> Selection:
    """The contacts the filters select, split into those sent and those left out (counted).
    SelectionProblem when a filter cannot be applied."""
    problems = filters.problems()
    if problems:
        raise SelectionProblem(" ".join(problems))
    rows = _classified(_filtered(Contact.objects.all(), filters))
    excluded = set(filters.include)
    counts = dict.fromkeys(LEFT_OUT_REASONS, 0)
    size = not_in_spotler = 0
    for reason, missing, n in rows.values_list("reason", "missing").annotate(n=Count("pk")):
        if reason and reason not in excluded:
            counts[reason] += n
        else:
            size += n
            not_in_spotler += n if missing else 0
    chosen = rows.filter(Q(reason="") | Q(reason__in=excluded))
    withdrawn = _withdrawn_consent(chosen) if "permissions_off" not in excluded else {}
    counts["permissions_off"] += len(withdrawn)
    size -= len(withdrawn)
    not_in_spotler -= sum(1 for missing in withdrawn.values() if missing)
    ordered = chosen.order_by("pk").values_list("external_id", flat=True)
    sample = [i for i in ordered[: SAMPLE_SIZE + len(withdrawn)] if i not in withdrawn]

    def load_ids() -> list[str]:
        return [i for i in ordered.iterator(5000) if i not in withdrawn]

    return Selection(
        size=size,
        left_out=counts,
        not_in_spotler=not_in_spotler,
        sample=sample[:SAMPLE_SIZE],
        load_ids=load_ids,
    )


# `external_id IN (...)` in parts: SQLite takes at most 32,766 parameters in one query.
ID_CHUNK = 10_000


def select_ids(
    external_ids: list[str], *, include: tuple[str, ...] = ()
) -> tuple[Selection, list[str]]:
    """The contacts the linked system named (an uploaded file, the API), split as
    `select_contacts` splits a filtered one, in the order named (a repeated id counts once);
    and the ids the ledger does not know."""
    wanted = list(dict.fromkeys(external_ids))
    excluded = set(include)
    found: dict[str, str] = {}
    missing: set[str] = set()  # found, but not in Spotler yet
    for start in range(0, len(wanted), ID_CHUNK):
        rows = _classified(Contact.objects.filter(external_id__in=wanted[start : start + ID_CHUNK]))
        for external_id, reason, not_yet in rows.values_list("external_id", "reason", "missing"):
            found[external_id] = "" if reason in excluded else reason
            if not_yet:
                missing.add(external_id)
        if "permissions_off" not in excluded:
            chosen = rows.filter(Q(reason="") | Q(reason__in=excluded))
            for external_id in _withdrawn_consent(chosen):
                found[external_id] = "permissions_off"
    selection = Selection(ids=[])
    unknown = []
    for external_id in wanted:
        if external_id not in found:
            unknown.append(external_id)
        elif found[external_id]:
            selection.left_out[found[external_id]] += 1
        else:
            selection.ids.append(external_id)
            selection.not_in_spotler += external_id in missing
    selection.size = len(selection.ids)
    selection.sample = selection.ids[:SAMPLE_SIZE]
    return selection, unknown


def reselect(found: "TempList") -> tuple[Selection, list[str]]:
    """A list's selection made again from what it was made by (its named ids, or its
    filters), for a refresh; and the named ids the ledger no longer knows."""
    filters = SelectionFilters.from_dict(found.filters)
    if found.named_ids:
        return select_ids(found.named_ids, include=filters.include)
    return select_contacts(filters), []


def account_managers() -> list[str]:
    """The account managers the ledger knows, for the selection's menu."""
    found = Contact.objects.exclude(account_manager="").values_list("account_manager", flat=True)
    return list(found.distinct().order_by("account_manager"))


def languages() -> list[str]:
    found = Contact.objects.exclude(language="").values_list("language", flat=True)
    return list(found.distinct().order_by("language"))


def _filtered(rows: QuerySet, filters: SelectionFilters) -> QuerySet:
    if filters.language:
        rows = rows.filter(language=filters.language)
    if filters.account_manager:
        rows = rows.filter(account_manager=filters.account_manager)
    if filters.sync_state:
        rows = rows.filter(sync_status=filters.sync_state)
    for name, (column, test) in DATE_FILTERS.items():
        day = _day(getattr(filters, name))
        if day is not None:
            # "to" includes its whole day: before the start of the next one.
            day += timedelta(days=1) if test == "lt" else timedelta()
            moment = timezone.make_aware(datetime.combine(day, time.min))
            rows = rows.filter(**{f"{column}__{test}": moment})
    if filters.source_field and filters.operator in OPERATORS:
        text = Trim(KeyTextTransform(filters.source_field, "fields"))
        rows = rows.annotate(field_text=Lower(Coalesce(text, Value(""), output_field=TextField())))
        wanted = filters.value.strip().lower()
        if filters.operator == "empty":
            rows = rows.filter(field_text="")
        elif filters.operator == "equals":
            rows = rows.filter(field_text=wanted)
        else:
            rows = rows.filter(field_text__contains=wanted)
    return rows


def _classified(rows: QuerySet) -> QuerySet:
    """The rows with `reason` (why each is left out, "" for none) and `missing` (not in
    Spotler yet) worked out by the database."""
    permission_fields = [name for _bit, name in mapping_in_force().permission_sources]
    no_permission = Q()
    for n, name in enumerate(permission_fields):
        text = Lower(
            Trim(Coalesce(KeyTextTransform(name, "fields"), Value(""), output_field=TextField()))
        )
        rows = rows.annotate(**{f"permission_{n}": text})
        no_permission &= ~Q(**{f"permission_{n}__in": sorted(TRUE_WORDS)})
    cases = [
        When(Q(erased_at__isnull=False) | Q(external_id__isnull=True), then=Value("erased")),
        When(sync_status=SyncStatus.ANONYMIZED, then=Value("anonymized")),
        When(
            Q(inactivated_at__isnull=False) | Q(sync_status=SyncStatus.INACTIVE),
            then=Value("inactive"),
        ),
    ]
    if permission_fields:
        cases.append(When(no_permission, then=Value("permissions_off")))
    cases.append(
        When(Q(synced_at__isnull=True, sync_status__in=NOT_PUSHED), then=Value("push_failed"))
    )
    return rows.annotate(
        reason=Case(*cases, default=Value(""), output_field=CharField()),
        missing=Case(
            When(synced_at__isnull=True, then=Value("1")),
            default=Value(""),
            output_field=CharField(),
        ),
    )


def _withdrawn_consent(chosen: QuerySet) -> dict[str, bool]:
    """Of the chosen contacts, those whose every permission is off once Spotler's own reports
    count (an unsubscribe the shop has not consented again after, sync/consent.py):
    {external id: not in Spotler yet}. Only contacts Spotler reported a permission off for
    are read."""
    mapping = mapping_in_force()
    bits = {bit for bit, _name in mapping.permission_sources}
    if not bits:
        return {}
    reported = SpotlerConsent.objects.filter(enabled=False, bit__in=bits)
    candidates = list(
        chosen.filter(pk__in=reported.values("contact_id")).values_list(
            "pk", "external_id", "fields", "field_changed_at", "synced_at"
        )
    )
    off_at: dict[int, dict] = {}
    for start in range(0, len(candidates), ID_CHUNK):
        pks = [row[0] for row in candidates[start : start + ID_CHUNK]]
        for pk, bit, at in reported.filter(contact_id__in=pks).values_list(
            "contact_id", "bit", "changed_at"
        ):
            off_at.setdefault(pk, {})[bit] = at
    withdrawn: dict[str, bool] = {}
    for pk, external_id, fields, changed_at, synced_at in candidates:
        contact = Contact(pk=pk, external_id=external_id, field_changed_at=changed_at)
        on = [
            {"bit": bit, "enabled": True}
            for bit, name in mapping.permission_sources
            if _is_yes((fields or {}).get(name))
        ]
        allowed, _held = guard_permissions(
            on,
            spotler_off_at=off_at.get(pk, {}),
            shop_changed_at=shop_consent_changed_at(contact, mapping=mapping),
        )
        if not allowed:
            withdrawn[external_id] = synced_at is None
    return withdrawn


def _is_yes(value: object) -> bool:
    return value is True or str(value).strip().lower() in TRUE_WORDS


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text else None
    except ValueError:
        return None


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def describe(saved: dict, *, named: int = 0) -> list[str]:
    """What a list was made from, in words: its file or named ids, or its filters; and the
    groups it includes on purpose."""
    filters = SelectionFilters.from_dict(saved)
    if named:
        source = f"the file “{saved['file']}”" if saved.get("file") else "the linked system's ids"
        parts = [f"{named} external id{'s' if named != 1 else ''} named in {source}"]
    else:
        parts = []
        for name in ("language", "account_manager", "sync_state", *DATE_FILTERS):
            value = getattr(filters, name)
            if value:
                parts.append(f"{_label(name).lower()} {value}")
        if filters.source_field:
            test = OPERATORS.get(filters.operator, filters.operator)
            value = f" “{filters.value}”" if filters.operator != "empty" else ""
            parts.append(f"source field {filters.source_field} {test}{value}")
        if not parts:
            parts.append("the whole ledger")
    if filters.include:
        included = " and ".join(INCLUDED_WORDS.get(g, g) for g in filters.include)
        parts.append(f"including {included} on purpose")
    return parts


INCLUDED_WORDS = {
    "inactive": "inactive contacts",
    "permissions_off": "contacts without a permission",
}
