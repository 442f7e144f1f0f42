"""A selection of the ledger for a temporary list: who is in it, and who is left out and why.

Left out by default: erased and anonymized contacts, inactive ones, those whose every
permission (per the mapping in force) is off, and those whose push to Spotler failed. Contacts
not yet in Spotler are in the selection: a list can only name contacts Spotler has
(spotler-api.md §10), so they are pushed first (lists/send.py).
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from contacts.models import Contact, SyncStatus
from mapping.conversions import TRUE_WORDS
from mapping.current import mapping_in_force

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


@dataclass(frozen=True)
class SelectionFilters:
    language: str = ""
    sync_state: str = ""
    source_field: str = ""
    operator: str = ""
    value: str = ""

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v}

    @classmethod
    def from_dict(cls, saved: dict) -> "SelectionFilters":
        """The filters saved with a list (`as_dict`); names no longer known are ignored."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in (saved or {}).items() if k in known})


@dataclass
class Selection:
    ids: list[str] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)
    # How many of `ids` are not in Spotler yet (pushed before the list names them).
    not_in_spotler: int = 0

    @property
    def size(self) -> int:
        return len(self.ids)

    @property
    def sample(self) -> list[str]:
        return self.ids[:SAMPLE_SIZE]

    def left_out_lines(self) -> list[tuple[str, int]]:
        return [(LEFT_OUT_REASONS[r], n) for r, n in self.left_out.items() if n]


def select_contacts(filters: SelectionFilters) -> Selection:
    """The contacts the filters select, split into those sent and those left out (counted)."""
    rows = Contact.objects.all()
    if filters.language:
        rows = rows.filter(language=filters.language)
    if filters.sync_state:
        rows = rows.filter(sync_status=filters.sync_state)
    rows = rows.order_by("pk").values_list(
        "external_id", "erased_at", "sync_status", "inactivated_at", "synced_at", "fields"
    )
    permission_fields = [name for _bit, name in mapping_in_force().permission_sources]
    selection = Selection(left_out={reason: 0 for reason in LEFT_OUT_REASONS})
    for external_id, erased_at, status, inactivated_at, synced_at, fields in rows.iterator(2000):
        if not _matches_field(fields or {}, filters):
            continue
        reason = _left_out_reason(
            erased=erased_at is not None or not external_id,
            status=status,
            inactive=inactivated_at is not None,
            in_spotler=synced_at is not None,
            permissions=[(fields or {}).get(name) for name in permission_fields],
        )
        if reason:
            selection.left_out[reason] += 1
        else:
            selection.ids.append(external_id)
            selection.not_in_spotler += synced_at is None
    return selection


def _matches_field(fields: dict, filters: SelectionFilters) -> bool:
    if not (filters.source_field and filters.operator):
        return True
    value = fields.get(filters.source_field)
    text = "" if value is None else str(value).strip()
    if filters.operator == "empty":
        return text == ""
    if filters.operator == "equals":
        return text.lower() == filters.value.strip().lower()
    return filters.value.strip().lower() in text.lower()


def _left_out_reason(
    *, erased: bool, status: str, inactive: bool, in_spotler: bool, permissions: list
) -> str:
    if erased:
        return "erased"
    if status == SyncStatus.ANONYMIZED:
        return "anonymized"
    if inactive or status == SyncStatus.INACTIVE:
        return "inactive"
    if permissions and not any(_is_yes(value) for value in permissions):
        return "permissions_off"
    if not in_spotler and status in (SyncStatus.FAILED, SyncStatus.DISMISSED):
        return "push_failed"
    return ""


def _is_yes(value: object) -> bool:
    return value is True or str(value).strip().lower() in TRUE_WORDS


# `external_id IN (...)` in parts: SQLite takes at most 32,766 parameters in one query.
ID_CHUNK = 10_000


def select_ids(external_ids: list[str]) -> tuple[Selection, list[str]]:
    """The contacts the linked system named (the API's selection), split as `select_contacts`
    splits a filtered one, in the order named (a repeated id counts once); and the ids the
    ledger does not know."""
    wanted = list(dict.fromkeys(external_ids))
    permission_fields = [name for _bit, name in mapping_in_force().permission_sources]
    found: dict[str, str] = {}
    missing: set[str] = set()  # found, but not in Spotler yet
    for start in range(0, len(wanted), ID_CHUNK):
        rows = Contact.objects.filter(external_id__in=wanted[start : start + ID_CHUNK])
        for external_id, erased_at, status, inactivated_at, synced_at, fields in rows.values_list(
            "external_id", "erased_at", "sync_status", "inactivated_at", "synced_at", "fields"
        ):
            if synced_at is None:
                missing.add(external_id)
            found[external_id] = _left_out_reason(
                erased=erased_at is not None,
                status=status,
                inactive=inactivated_at is not None,
                in_spotler=synced_at is not None,
                permissions=[(fields or {}).get(name) for name in permission_fields],
            )
    selection = Selection(left_out={reason: 0 for reason in LEFT_OUT_REASONS})
    unknown = []
    for external_id in wanted:
        if external_id not in found:
            unknown.append(external_id)
        elif found[external_id]:
            selection.left_out[found[external_id]] += 1
        else:
            selection.ids.append(external_id)
            selection.not_in_spotler += external_id in missing
    return selection, unknown


def reselect(found: "TempList") -> tuple[Selection, list[str]]:
    """A list's selection made again from what it was made by (its named ids, or its
    filters), for a refresh; and the named ids the ledger no longer knows."""
    if found.named_ids:
        return select_ids(found.named_ids)
    return select_contacts(SelectionFilters.from_dict(found.filters)), []
