"""What a push sends for a contact: its ledger state through the mapping in force, with the
consent rule applied (sync/consent.py) and the permissions Spotler already has left out."""

from dataclasses import dataclass, field

import spotler
from contacts.models import Contact
from mapping.render import PERMISSIONS_PROPERTY, CompiledMapping, render_contact
from mapping.source import source_fields_of
from sync.consent import HeldBack, guard_permissions, shop_consent_changed_at
from sync.models import SpotlerConsent, UnknownContact
from sync.push_claims import PushOutcome


@dataclass
class Prepared:
    """A contact rendered for Spotler, the consent rule applied; ready to send."""

    contact: Contact
    wire: spotler.Contact
    payload: dict
    notes: list[str]
    # Bits sent as on although Spotler had reported them off (the shop consented again later).
    switched_on: list[int] = field(default_factory=list)
    # Every permission the mapping renders for the contact, sent or not, and those the consent
    # rule held back: what Spotler should hold (the reconciliation compares it).
    permissions: list[dict] = field(default_factory=list)
    held: list[HeldBack] = field(default_factory=list)


def prepare_upsert(
    contact: Contact,
    *,
    mapping: CompiledMapping,
    spotler_off_at: dict | None = None,
    may_switch_on: bool = True,
) -> Prepared | PushOutcome:
    """The contact as Spotler should receive it, or the PushOutcome saying why it cannot go.

    `spotler_off_at` ({bit: when Spotler reported it off}) is read here unless the caller
    loaded it for many contacts at once. With `may_switch_on` False only the permissions that
    are off are sent (before a blacklisting: were it to fail for a while, the contact would be
    mailed meanwhile)."""
    rendered = render_contact(
        external_id=contact.external_id, fields=source_fields_of(contact), mapping=mapping
    )
    if not rendered.pushable:
        reasons = "; ".join(str(p) for p in rendered.problems if p.blocking)
        return PushOutcome(
            ok=False, answer=f"Not sent: {reasons}. Fix it in the linked system.",
            payload=rendered.payload,
        )  # fmt: skip
    properties = dict(rendered.payload["properties"])
    if spotler_off_at is None:
        spotler_off_at = spotler_off_at_of(contact)
    shop_changed_at = shop_consent_changed_at(contact, mapping=mapping)
    rendered_permissions = properties.pop(PERMISSIONS_PROPERTY, [])
    if not may_switch_on:
        rendered_permissions = [p for p in rendered_permissions if not p["enabled"]]
    allowed, held = guard_permissions(
        rendered_permissions,
        spotler_off_at=spotler_off_at,
        shop_changed_at=shop_changed_at,
    )
    to_send, unchanged = _changed_since_last_push(
        allowed, contact=contact, mapping=mapping, shop_changed_at=shop_changed_at
    )
    switched_on = [
        int(p["bit"]) for p in to_send if p["enabled"] and int(p["bit"]) in spotler_off_at
    ]
    payload = {"externalId": contact.external_id, "properties": {**properties}}
    if to_send:
        payload["properties"][PERMISSIONS_PROPERTY] = to_send
    wire = spotler.Contact(
        external_id=contact.external_id,
        properties=properties,
        permissions={int(p["bit"]): bool(p["enabled"]) for p in to_send},
    )
    notes = [str(h) for h in held] + [str(p) for p in rendered.problems]
    if unchanged:
        bits = ", ".join(str(b) for b in unchanged)
        notes.append(
            f"Permission {bits} not sent again: unchanged in the shop since the last push."
        )
    return Prepared(contact, wire, payload, notes, switched_on, rendered_permissions, held)


def _changed_since_last_push(
    permissions: list[dict], *, contact: Contact, mapping: CompiledMapping, shop_changed_at: dict
) -> tuple[list[dict], list[int]]:
    """The permissions worth sending, and the bits left out.

    A consent the shop has not changed since the ledger state Spotler last accepted (compared
    with that state's own change time, not the moment of the push) is not sent again: Spotler
    already has it, or has something newer from the recipient (an unsubscribe the pull has not
    read yet), which a resent "yes" must not undo. Everything goes on a contact's first push
    (and on the first push after an upgrade that did not know the accepted state); a bit the
    mapping did not send at the last push goes too.
    """
    last_push = contact.pushed_changed_at
    if last_push is None or contact.synced_at is None:
        return permissions, []
    sent_before = mapping.bits_sent_at(contact.synced_at)
    send, unchanged = [], []
    for entry in permissions:
        bit = int(entry["bit"])
        changed = shop_changed_at.get(bit)
        if bit not in sent_before or (changed is not None and changed > last_push):
            send.append(entry)
        else:
            unchanged.append(int(entry["bit"]))
    return send, unchanged


def spotler_off_at_of(contact: Contact) -> dict:
    """{bit: when Spotler reported it off} for one contact."""
    return spotler_off_at_many([contact.pk], contacts=[contact]).get(contact.pk, {})


def spotler_off_at_many(contact_ids: list[int], *, contacts: list[Contact] = ()) -> dict[int, dict]:
    """{contact id: {bit: when Spotler reported it off}} for many contacts in a query or two.

    A contact never pushed may still be known to Spotler (from before spotlersync, or another
    source): what a pull reported of it while the ledger did not know it counts too.
    """
    off: dict[int, dict] = {}
    consents = SpotlerConsent.objects.filter(contact_id__in=contact_ids, enabled=False)
    for contact_id, bit, changed_at in consents.values_list("contact_id", "bit", "changed_at"):
        off.setdefault(contact_id, {})[bit] = changed_at
    new = {c.external_id: c.pk for c in contacts if c.synced_at is None and c.external_id}
    if new:
        reported = UnknownContact.objects.filter(external_id__in=new, last_changed__isnull=False)
        for external_id, permissions, at in reported.values_list(
            "external_id", "permissions", "last_changed"
        ):
            bits = off.setdefault(new[external_id], {})
            for bit, on in permissions.items():
                if not on:
                    bits.setdefault(int(bit), at)
    return off
