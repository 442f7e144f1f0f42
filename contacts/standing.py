"""What a contact's state really is, for the contacts pages: its consent per permission as
Spotler last reported it, by the permission's name, beside the sync state.

Spotler names its permission bits in the property catalogue (the `permissions` property's
entries, e.g. bit 1 "Newsletter"); the mapping says which shop field feeds which bit. The
pull keeps what Spotler reported of each contact's bits (`SpotlerState.permissions`) and, for
a bit the recipient switched in Spotler, when (`SpotlerConsent`). Bounced (an open follow-up),
inactive (blacklisted) and anonymized (erased) are read from the contact itself.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import CharField, Exists, F, Func, OuterRef, Q

from mapping.models import SpotlerProperty
from mapping.render import PERMISSIONS_PROPERTY, Conversion
from mapping.versions import current_version
from sync.models import SpotlerConsent, SpotlerState

ON, OFF, UNSUBSCRIBED = "on", "off", "unsubscribed"


@dataclass(frozen=True)
class Permission:
    bit: int
    name: str  # Spotler's description of the bit ("Newsletter"), else "permission <bit>"
    source_field: str = ""  # the shop's consent field that feeds it, when the mapping says

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Consent:
    """One permission of one contact as Spotler last reported it."""

    permission: Permission
    enabled: bool
    # When the recipient switched it in Spotler (not our own push echoed back); None otherwise.
    switched_in_spotler_at: datetime | None = None

    @property
    def unsubscribed(self) -> bool:
        """Switched off in Spotler by the recipient (or Spotler), not by the shop."""
        return not self.enabled and self.switched_in_spotler_at is not None

    def __str__(self) -> str:
        if self.enabled:
            return f"{self.permission}: on"
        if self.unsubscribed:
            return f"{self.permission}: unsubscribed in Spotler"
        return f"{self.permission}: off"


@dataclass(frozen=True)
class Standing:
    """What the contacts pages show beside the sync state."""

    consents: list[Consent]
    bounced: bool = False  # an open bounce follow-up
    inactive: bool = False  # blacklisted in Spotler, or asked to be
    anonymized: bool = False  # erased here, anonymized in Spotler

    @property
    def unsubscribed(self) -> list[Consent]:
        return [c for c in self.consents if c.unsubscribed]

    @property
    def troubled(self) -> bool:
        """Spotler holds the data, but something keeps mail from this contact: "synced" alone
        would say all is well."""
        return self.bounced or self.inactive or self.anonymized or bool(self.unsubscribed)


def standing_of(contact, *, consents: list[Consent], bounced: bool) -> Standing:
    return Standing(
        consents=consents,
        bounced=bounced,
        inactive=contact.inactivated_at is not None,
        anonymized=contact.is_erased,
    )


def known_permissions() -> dict[int, Permission]:
    """The permissions the dashboard speaks of, by bit: those the mapping in force maps, or,
    when it maps none, every one the catalogue lists. Two small queries."""
    names = catalogue_permission_names()
    fields: dict[int, str] = {}
    for row in current_version().rows:
        if row.get("conversion") == Conversion.PERMISSION and "bit" in row.get("options", {}):
            fields.setdefault(int(row["options"]["bit"]), (row.get("source_fields") or [""])[0])
    bits = sorted(fields) or sorted(names)
    return {
        bit: Permission(bit, names.get(bit) or f"permission {bit}", fields.get(bit, ""))
        for bit in bits
    }


def catalogue_permission_names() -> dict[int, str]:
    found = SpotlerProperty.objects.present().filter(name=PERMISSIONS_PROPERTY).first()
    return {bit: name for bit, name in found.bits.items() if name} if found else {}


def permission_name(bit: int, permissions: dict[int, Permission]) -> str:
    known = permissions.get(bit)
    return known.name if known else (catalogue_permission_names().get(bit) or f"permission {bit}")


def consents_of(
    contact_ids: list[int], *, permissions: dict[int, Permission]
) -> dict[int, list[Consent]]:
    """Per contact, its known permissions as Spotler last reported them (two queries); a
    permission Spotler has not reported for the contact is left out."""
    reported = dict(
        SpotlerState.objects.filter(contact_id__in=contact_ids).values_list(
            "contact_id", "permissions"
        )
    )
    switched: dict[tuple[int, int], tuple[bool, datetime]] = {
        (contact_id, bit): (enabled, at)
        for contact_id, bit, enabled, at in SpotlerConsent.objects.filter(
            contact_id__in=contact_ids, bit__in=list(permissions)
        ).values_list("contact_id", "bit", "enabled", "changed_at")
    }
    found: dict[int, list[Consent]] = {}
    for contact_id in contact_ids:
        bits = reported.get(contact_id) or {}
        consents = []
        for bit, permission in permissions.items():
            enabled = bits.get(str(bit))
            change = switched.get((contact_id, bit))
            if enabled is None and change is not None:
                enabled = change[0]
            if enabled is None:
                continue
            at = change[1] if change is not None and change[0] == enabled else None
            consents.append(Consent(permission, bool(enabled), at))
        found[contact_id] = consents
    return found


class PermissionValue(Func):
    """The JSON text `true`/`false` at a bit's key of `SpotlerState.permissions`.

    Django reads a key like "1" as an array index (`-> 1`, `$[1]`), which finds nothing in
    an object; this asks for the object key on both databases.
    """

    output_field = CharField()

    def __init__(self, bit: int) -> None:
        super().__init__(F("permissions"))
        self.key = str(int(bit))

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} ->> %s)", (*params, self.key)

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"json_type({sql}, %s)", (*params, f'$."{self.key}"')


def consent_filter(choice: str) -> Q | None:
    """The list's consent filter: "<bit>:on" or "<bit>:off" as Spotler last reported it, or
    "<bit>:unsubscribed": switched off in Spotler (the few rows of SpotlerConsent, so quick)."""
    bit_text, _, value = choice.partition(":")
    if not bit_text.isdigit() or value not in (ON, OFF, UNSUBSCRIBED):
        return None
    if value == UNSUBSCRIBED:
        switched_off = SpotlerConsent.objects.filter(bit=int(bit_text), enabled=False)
        return Q(pk__in=switched_off.values("contact_id"))
    reported = (
        SpotlerState.objects.filter(contact=OuterRef("pk"))
        .annotate(value=PermissionValue(int(bit_text)))
        .filter(value="true" if value == ON else "false")
    )
    return Q(Exists(reported))


def consent_choices(permissions: dict[int, Permission]) -> list[tuple[str, str]]:
    choices = []
    for bit, permission in permissions.items():
        choices += [
            (f"{bit}:{ON}", f"{permission}: on"),
            (f"{bit}:{OFF}", f"{permission}: off"),
            (f"{bit}:{UNSUBSCRIBED}", f"{permission}: unsubscribed in Spotler"),
        ]
    return choices
