"""What the mapping editor shows: rows, their checks, and the live preview of one contact."""

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, QuerySet

from contacts.models import NOT_AN_EXTERNAL_ID, Contact, is_external_id
from mapping import spotler_rules
from mapping.forms import table_to_text
from mapping.models import CatalogueRefresh, MappingVersion, SpotlerProperty
from mapping.refusals import Refusals, blocking_errors, count_refusals
from mapping.render import (
    EMAIL_PROPERTY,
    Conversion,
    Problem,
    PropertyType,
    Rendered,
    Row,
    compile_mapping,
    render_contact,
)
from mapping.rows import RowError, row_errors, row_from_json, unrenderable
from mapping.source import LEDGER_FIELDS, RECENT_CONTACTS, recent_values, source_fields_of
from mapping.stored_catalogue import catalogue_entries


@dataclass
class Preview:
    contact: Contact | None
    rendered: Rendered | None = None
    refused: str = ""  # why the "contact to preview" value names no contact at all
    problems_by_property: dict[str, list[str]] = field(default_factory=dict)
    # Values Spotler would refuse ("Property is invalid"): the push of this contact would fail.
    spotler_refuses: list[str] = field(default_factory=list)


@dataclass
class Checked:
    """The rows as checked on saving: what stops the save, and (when nothing does) how many
    recent real values of each row would not reach Spotler."""

    errors: list[RowError]
    refusals: list[Refusals] = field(default_factory=list)
    contacts: int = 0  # how many contacts changed last the values were taken from


def shop_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def preview_contact(*, rows: list[dict], external_id: str = "") -> Preview:
    """A real ledger contact rendered through `rows` (saved or not): what Spotler would get."""
    if external_id and not is_external_id(external_id):
        return Preview(contact=None, refused=f"That is no external id. {NOT_AN_EXTERNAL_ID}")
    contacts = Contact.objects.live()
    contact = (
        contacts.with_external_id(external_id).first()
        if external_id
        else contacts.order_by("-changed_at").first()
    )
    if contact is None:
        return Preview(contact=None)
    catalogue = catalogue_entries()
    complete = [r for r in rows if r.get("property") and (r.get("type") or not catalogue)]
    # A row that cannot be read (a bit like "1e3") is left out and named among the problems.
    refused = [
        Problem(r["property"], (r.get("source_fields") or [""])[0], message)
        for r in complete
        for message in unrenderable(r)
    ]
    mapping = compile_mapping(
        [row_from_json(r, catalogue=catalogue) for r in complete if not unrenderable(r)],
        tz=shop_zone(),
    )
    rendered = render_contact(
        external_id=contact.external_id, fields=source_fields_of(contact), mapping=mapping
    )
    rendered = Rendered(rendered.payload, [*refused, *rendered.problems])
    by_property: dict[str, list[str]] = {}
    for problem in rendered.problems:
        by_property.setdefault(problem.spotler_property, []).append(problem.message)
    return Preview(
        contact=contact,
        rendered=rendered,
        problems_by_property=by_property,
        spotler_refuses=_spotler_refuses(rendered.payload["properties"], rows=complete),
    )


def _spotler_refuses(properties: dict, *, rows: list[dict]) -> list[str]:
    types = {r["property"]: r.get("type", "") for r in rows}
    found = []
    for name, value in properties.items():
        problem = spotler_rules.refusal(types.get(name, ""), value)
        if problem:
            found.append(f"{name}: {problem}")
    return found


def check_rows(rows: list[dict]) -> Checked:
    catalogue = catalogue_entries()
    if catalogue is None:
        return Checked(
            [RowError(-1, "Spotler's properties have not been fetched yet; refresh them first")]
        )
    errors = row_errors(rows, catalogue=catalogue)
    if errors:
        return Checked(errors)
    samples = recent_values()
    refusals = count_refusals(rows, samples=samples, tz=shop_zone())
    contacts = min(RECENT_CONTACTS, max((len(v) for v in samples.values()), default=0))
    return Checked(blocking_errors(refusals), refusals, contacts)


def check_note(note: str) -> list[RowError]:
    if "\x00" in note:
        return [RowError(-1, "remove the NUL character from the note; it cannot be stored")]
    return []


def affected_contacts(old_rows: list[dict], new_rows: list[dict]) -> QuerySet[Contact]:
    """Contacts whose Spotler data the change alters: those holding a changed row's source."""
    old, new = _sending(old_rows), _sending(new_rows)
    changed = [row for saved, row in new.items() if saved not in old]
    changed += [row for saved, row in old.items() if saved not in new]
    live = Contact.objects.live()
    if any(row.conversion == Conversion.CONSTANT for row in changed):
        return live  # a constant reaches everyone
    query = Q()
    for name in {f for row in changed for f in row.source_fields}:
        if name in LEDGER_FIELDS:
            query |= Q(**{f"{name}__isnull": False})
        else:
            query |= Q(fields__has_key=name)
    return live.filter(query) if query else live.none()


def _sending(rows: list[dict]) -> dict[str, Row]:
    """The rows that send to Spotler, by their saved form (equal rows compare equal)."""
    parsed = {repr(saved): row_from_json(saved) for saved in rows}
    return {saved: row for saved, row in parsed.items() if row.sends}


def changes_of_version(version: MappingVersion) -> QuerySet[Contact]:
    """The contacts whose Spotler data `version` changed compared with the one before it."""
    previous = MappingVersion.objects.filter(number__lt=version.number).order_by("-number").first()
    return affected_contacts(previous.rows if previous else [], version.rows)


def catalogue_for_editor() -> tuple[list[SpotlerProperty], CatalogueRefresh | None]:
    last = CatalogueRefresh.objects.order_by("-fetched_at").first()
    return list(SpotlerProperty.objects.present()), last


DATE_TYPES = (PropertyType.DATE, PropertyType.BIRTHDATE, PropertyType.DATETIME)


def row_items(
    rows: list[dict], *, row_errors: dict[int, list[str]], properties: list[SpotlerProperty]
) -> list[dict]:
    """The rows as the editor shows them, each with only the options its conversion reads."""
    bits = {p.name: sorted(p.bits.items()) for p in properties if p.type == PropertyType.SET}
    return [
        {
            "index": i,
            "row": row,
            "errors": row_errors.get(i, []),
            "table_text": table_to_text(row["options"].get("table") or {}),
            "bits": bits.get(row["property"]),
            "bit_known": _bit_known(row, bits.get(row["property"])),
            "month_first": row["conversion"] == Conversion.AUTO and row["type"] in DATE_TYPES,
            "clear": row["conversion"] not in (Conversion.PERMISSION, Conversion.CONSTANT)
            and row["property"] != EMAIL_PROPERTY,
        }
        for i, row in enumerate(rows)
    ]


def _bit_known(row: dict, bits: list[tuple[int, str]] | None) -> bool:
    """Whether the row's bit is one the property's entries offer (else the editor keeps it as
    typed, for the row's checks to name)."""
    bit = row["options"].get("bit")
    return bit is None or any(str(b) == str(bit) for b, _ in bits or [])
