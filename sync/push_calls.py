"""Calling Spotler for a push: one contact's upsert, inactivation or anonymization, or many
upserts 100 per call; each answer becomes a PushOutcome and a line on the contact's timeline."""

from django.utils import timezone

import spotler
from contacts.models import Contact
from mapping.render import PERMISSIONS_PROPERTY, CompiledMapping
from mapping.stored_catalogue import catalogue_entries
from sync.explain import explain, explain_batch_code
from sync.models import (
    OutboxEntry,
    OutboxKind,
    SpotlerConsent,
    SpotlerState,
    SyncEvent,
    SyncEventKind,
    SyncRun,
)
from sync.push_claims import PushOutcome
from sync.push_payload import Prepared, prepare_upsert, spotler_off_at_many
from sync.refused_values import refused_values

BATCH_SIZE = 100  # Spotler's most per POST contact/list (spotler-api.md §5.2)


def push_contact(
    contact: Contact,
    *,
    kinds: set[str],
    external_id: str | None,
    client: spotler.SpotlerClient,
    mapping: CompiledMapping,
    run: SyncRun | None = None,
) -> PushOutcome:
    """Send one contact's claimed changes (`kinds`) in one go: an anonymization alone, else its
    current state, then its blacklisting if one is asked for."""
    if OutboxKind.ANONYMIZE in kinds:
        return _anonymize(contact, external_id=external_id, client=client, run=run)
    outcome = PushOutcome(ok=True, skipped=True)
    if OutboxKind.UPSERT in kinds or OutboxKind.INACTIVATE in kinds:
        # Before a blacklisting, no permission goes on: were the blacklisting to fail for a
        # while, the contact would be mailed meanwhile.
        inactivating = OutboxKind.INACTIVATE in kinds
        outcome = upsert_one(
            contact, client=client, mapping=mapping, run=run, may_switch_on=not inactivating
        )
    if outcome.ok and OutboxKind.INACTIVATE in kinds:
        outcome = _inactivate(contact, client=client, run=run)
    return outcome


def upsert_one(
    contact: Contact, *, client, mapping: CompiledMapping, run, may_switch_on: bool = True
) -> PushOutcome:
    prepared = prepare_upsert(contact, mapping=mapping, may_switch_on=may_switch_on)
    if isinstance(prepared, PushOutcome):
        return _record(contact, run, SyncEventKind.PUSH, prepared)
    try:
        client.upsert_contact(prepared.wire, update=True, purge=False)
    except spotler.SpotlerError as error:
        refused = _refused(error.error_type, prepared.payload, mapping=mapping, error=error)
        outcome = _failure(error, prepared.payload, refused=refused)
        return _record(contact, run, SyncEventKind.PUSH, outcome)
    return _record(contact, run, SyncEventKind.PUSH, _accepted(prepared))


def upsert_many(
    contacts: list[Contact], *, client, mapping: CompiledMapping, run
) -> dict[int, PushOutcome]:
    """Upsert contacts 100 per `POST contact/list` call; one outcome per contact.

    What every contact needs from the database is read, and its timeline event written, once
    for all of them, so a backfill costs a few queries per 100 contacts, not per contact."""
    outcomes: dict[int, PushOutcome] = {}
    ready: list[Prepared] = []
    events: list[SyncEvent] = []
    off_at = spotler_off_at_many([c.pk for c in contacts], contacts=contacts)
    for contact in contacts:
        prepared = prepare_upsert(
            contact, mapping=mapping, spotler_off_at=off_at.get(contact.pk, {})
        )
        if isinstance(prepared, PushOutcome):
            outcomes[contact.pk] = _record(contact, run, SyncEventKind.PUSH, prepared, events)
        else:
            ready.append(prepared)
    for start in range(0, len(ready), BATCH_SIZE):
        chunk = ready[start : start + BATCH_SIZE]
        try:
            results = client.upsert_contacts([p.wire for p in chunk], update=True, purge=False)
        except spotler.SpotlerError as error:
            for p in chunk:
                refused = _refused(error.error_type, p.payload, mapping=mapping, error=error)
                outcomes[p.contact.pk] = _record(
                    p.contact, run, SyncEventKind.PUSH,
                    _failure(error, p.payload, refused=refused), events,
                )  # fmt: skip
            continue
        by_id = {r.external_id: r for r in results if r.external_id}
        padded = (list(results) + [None] * len(chunk))[: len(chunk)]
        for p, in_order in zip(chunk, padded, strict=True):
            result = by_id.get(p.contact.external_id, in_order)
            if result is not None and result.ok:
                outcome = _accepted(p)
            else:
                code, message = (result.code, result.message) if result else ("ERROR", "no answer")
                refused = _refused(str(code), p.payload, mapping=mapping)
                answer = explain_batch_code(str(code), message, refused=refused)
                outcome = PushOutcome(ok=False, answer=answer, payload=p.payload)
            outcomes[p.contact.pk] = _record(p.contact, run, SyncEventKind.PUSH, outcome, events)
    SyncEvent.objects.bulk_create(events, batch_size=500)
    return outcomes


def _accepted(prepared: Prepared) -> PushOutcome:
    answer = "Spotler accepted it." + (" " + " ".join(prepared.notes) if prepared.notes else "")
    if prepared.switched_on:
        _note_switched_on(prepared.contact, prepared.switched_on)
    return PushOutcome(ok=True, answer=answer, payload=prepared.payload)


def _note_switched_on(contact: Contact, bits: list[int]) -> None:
    """Spotler now holds these bits on, by our push: what we know of Spotler says so too.

    Otherwise an unsubscribe made in Spotler before the next pull would look like nothing new
    to the pull (Spotler's "off" equals what it last read) and a later push would undo it.
    """
    now = timezone.now()
    SpotlerConsent.objects.filter(contact=contact, bit__in=bits).update(
        enabled=True, changed_at=now
    )
    state = SpotlerState.objects.filter(contact=contact).first()
    if state is not None:
        state.permissions = {**state.permissions, **{str(bit): True for bit in bits}}
        state.save(update_fields=["permissions"])


def _inactivate(contact: Contact, *, client, run) -> PushOutcome:
    bits = _permission_bits()
    try:
        how = client.inactivate_contact(contact.external_id, permission_bits=bits)
    except spotler.SpotlerError as error:
        return _record(contact, run, SyncEventKind.INACTIVATE, _failure(error, {}))
    answer = (
        "Spotler blacklisted the contact."
        if how == spotler.Inactivation.INACTIVATED
        else "Spotler has no inactivate call here; every permission was switched off instead."
    )
    return _record(contact, run, SyncEventKind.INACTIVATE, PushOutcome(ok=True, answer=answer))


def _anonymize(contact: Contact, *, external_id: str | None, client, run) -> PushOutcome:
    if not external_id:
        return PushOutcome(ok=True, skipped=True, answer="Already anonymized.")
    try:
        client.anonymize_contact(external_id)
    except spotler.SpotlerError as error:
        if error.error_type == "CONTACT_NOT_FOUND":
            # Never reached Spotler: nothing to anonymize there.
            outcome = PushOutcome(ok=True, answer="Spotler never had this contact.")
        else:
            outcome = _failure(error, {})
    else:
        outcome = PushOutcome(ok=True, answer="Spotler anonymized the contact.")
    if outcome.ok:
        # The anonymization was the last thing that needed the id.
        OutboxEntry.objects.filter(contact=contact).update(external_id="")
    return _record(contact, run, SyncEventKind.ANONYMIZE, outcome)


def _failure(error: spotler.SpotlerError, payload: dict, *, refused=()) -> PushOutcome:
    return PushOutcome(
        ok=False,
        transient=not error.permanent,
        answer=explain(error, refused=refused),
        payload=payload,
    )


# The answers that mean "a value we sent is wrong" without saying which (spotler-api.md §5.1).
VALUE_REFUSALS = {"INVALID_PARAMS", "PROPERTY_INVALID", "INVALID_PROPERTY"}


def _refused(code: str | None, payload: dict, *, mapping: CompiledMapping, error=None) -> list[str]:
    """The sent values that break what is known of their property, when Spotler refused one."""
    if error is not None and not (error.permanent and error.status == 400):
        return []
    if code not in VALUE_REFUSALS:
        return []
    properties = {
        k: v for k, v in (payload.get("properties") or {}).items() if k != PERMISSIONS_PROPERTY
    }
    sources = {step[0]: step[1] for step in mapping.steps}
    return refused_values(properties, catalogue=catalogue_entries(), sources=sources)


def _record(
    contact: Contact, run, kind: str, outcome: PushOutcome, events: list[SyncEvent] | None = None
) -> PushOutcome:
    """The call on the contact's timeline: written now, or added to `events` to write in bulk."""
    event = SyncEvent(
        contact=contact, run=run, kind=kind, ok=outcome.ok, payload=outcome.payload,
        answer=outcome.answer,
    )  # fmt: skip
    if events is None:
        event.save()
    else:
        events.append(event)
    return outcome


def _permission_bits() -> list[int] | None:
    catalogue = catalogue_entries() or {}
    entry = catalogue.get(PERMISSIONS_PROPERTY)
    return sorted(entry.bits) if entry else None
