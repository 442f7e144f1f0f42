"""Pushing the ledger's changes to Spotler: drain the outbox, one call per contact.

Several pending changes of one contact become one call, because the push sends the contact's
*current* ledger state through the mapping in force. Live changes go out one contact at a time
with `POST contact` (update=true); backfills use `POST contact/list` (see backfill.py).
"""

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Min, Q
from django.utils import timezone

import spotler
from bounces import followups
from contacts.models import Contact, SyncStatus
from mapping.catalogue import catalogue_entries
from mapping.current import mapping_in_force
from mapping.render import PERMISSIONS_PROPERTY, CompiledMapping, render_contact
from mapping.source import source_fields_of
from spotlersync.cache_outage import CACHE_DOWN, warn_cache_down
from sync.consent import guard_permissions, shop_consent_changed_at
from sync.explain import explain, explain_batch_code
from sync.models import (
    OutboxEntry,
    OutboxKind,
    OutboxStatus,
    SpotlerConsent,
    SpotlerState,
    SyncEvent,
    SyncEventKind,
    SyncRun,
    SyncRunKind,
    SyncRunStatus,
    SyncRunTrigger,
    UnknownContact,
)
from sync.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

BATCH_SIZE = 100  # Spotler's most per POST contact/list (spotler-api.md §5.2)
BATCH_THRESHOLD = 10  # from this many plain upserts claimed at once, they go in batches
LEASE = timedelta(minutes=10)  # an in-flight claim older than this belonged to a dead worker


@dataclass
class Outcome:
    ok: bool
    transient: bool = False
    skipped: bool = False
    answer: str = ""
    payload: dict = field(default_factory=dict)
    # Made right after Spotler's answer; a batch's outcomes are settled after its last call.
    answered_at: datetime = field(default_factory=timezone.now)


def spotler_client() -> spotler.SpotlerClient:
    limiter = RateLimiter()
    return spotler.client_from_settings(throttle=limiter.wait, on_retry=limiter.note_retry)


def push_outbox(
    *,
    limit: int = 500,
    client: spotler.SpotlerClient | None = None,
    trigger: str = SyncRunTrigger.LIVE,
) -> SyncRun | None:
    """Claim up to `limit` contacts with pending changes and push each once; None if idle."""
    token, contact_ids = claim_contacts(limit=limit)
    if not contact_ids:
        return None
    now = timezone.now()
    run = SyncRun.objects.create(
        kind=SyncRunKind.PUSH, trigger=trigger, status=SyncRunStatus.RUNNING,
        started_at=now, heartbeat_at=now, total=len(contact_ids),
    )  # fmt: skip
    client = client or spotler_client()
    mapping = mapping_in_force()
    entries = OutboxEntry.objects.filter(claim=token, status=OutboxStatus.IN_FLIGHT)
    kinds_by_contact: dict[int, set[str]] = {}
    external_ids: dict[int, str] = {}
    for contact_id, kind, external_id in entries.values_list("contact_id", "kind", "external_id"):
        kinds_by_contact.setdefault(contact_id, set()).add(kind)
        if external_id:
            external_ids[contact_id] = external_id
    contacts = list(Contact.objects.filter(pk__in=contact_ids))
    plain = [c for c in contacts if kinds_by_contact.get(c.pk) == {OutboxKind.UPSERT}]
    # A burst (an import, a batch from the shop) goes 100 contacts a call, not one.
    batched = (
        upsert_many(plain, client=client, mapping=mapping, run=run)
        if len(plain) >= BATCH_THRESHOLD
        else {}
    )
    retried: list[str] = []  # Spotler's answers to the contacts to be tried again later
    for contact in contacts:
        outcome = batched.get(contact.pk) or push_contact(
            contact, kinds=kinds_by_contact.get(contact.pk, set()),
            external_id=external_ids.get(contact.pk), client=client, mapping=mapping, run=run,
        )  # fmt: skip
        settle_entries(token=token, contact=contact, outcome=outcome)
        run.done += 1
        run.sent += outcome.ok and not outcome.skipped
        run.failed += not outcome.ok and not outcome.transient
        run.skipped += outcome.skipped or outcome.transient
        if outcome.transient:
            retried.append(outcome.answer)
    run.status, run.error = SyncRunStatus.SUCCEEDED, ""
    if retried and not run.sent:
        # Nothing got through (Spotler down): the run must not read as a success.
        run.status = SyncRunStatus.FAILED
        run.error = nothing_accepted(run, retried=retried, contact_ids=contact_ids)
    run.finished_at = timezone.now()
    run.save()
    return run


def nothing_accepted(run: SyncRun, *, retried: list[str], contact_ids: list[int]) -> str:
    """Why a batch got nothing through, and when its contacts are tried again."""
    retry_at = OutboxEntry.objects.filter(
        contact_id__in=contact_ids, status=OutboxStatus.PENDING, not_before__isnull=False
    ).aggregate(at=Min("not_before"))["at"]
    when = f"from {timezone.localtime(retry_at):%H:%M}" if retry_at else "later"
    if run.done == 1:
        head = f"Spotler did not accept the contact; it is retried {when}"
    elif len(retried) == run.done:
        head = f"Spotler did not accept any of {run.done} contacts; they are retried {when}"
    else:
        head = (
            f"Spotler did not accept any of {run.done} contacts; {len(retried)} of them are "
            f"retried {when}"
        )
    return f"{head} (reason: {retried[0]})"


def claim_contacts(*, limit: int) -> tuple[str, list[int]]:
    """Take the oldest ready contacts no other worker holds; (claim token, contact ids).

    A contact claimed less than SYNC_PUSH_QUIET_SECONDS ago is held back until that long after
    its claim (the push task waits for it: `wait_for_held_contacts`), so edits that keep coming
    while it is pushed go in one more call, with its latest state, instead of one call each.
    """
    now = timezone.now()
    OutboxEntry.objects.filter(status=OutboxStatus.IN_FLIGHT, claimed_at__lt=now - LEASE).update(
        status=OutboxStatus.PENDING, claim=""
    )
    ready = OutboxEntry.objects.pending().filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )
    candidates = list(
        dict.fromkeys(ready.order_by("id").values_list("contact_id", flat=True)[: limit * 4])
    )[:limit]
    if not candidates:
        return "", []
    token = uuid.uuid4().hex
    with transaction.atomic():
        # PostgreSQL: rows another worker is claiming right now are skipped, not waited for.
        locked = list(
            Contact.objects.select_for_update(skip_locked=True)
            .filter(pk__in=candidates)
            .values_list("pk", flat=True)
        )
        busy = set(
            OutboxEntry.objects.filter(contact_id__in=locked)
            .filter(Q(status=OutboxStatus.IN_FLIGHT) | Q(claimed_at__gt=now - quiet_period()))
            .values_list("contact_id", flat=True)
        )
        mine = [pk for pk in locked if pk not in busy]
        OutboxEntry.objects.filter(contact_id__in=mine, status=OutboxStatus.PENDING).update(
            status=OutboxStatus.IN_FLIGHT, claimed_at=now, claim=token
        )
    return token, mine


def push_contact(
    contact: Contact,
    *,
    kinds: set[str],
    external_id: str | None,
    client: spotler.SpotlerClient,
    mapping: CompiledMapping,
    run: SyncRun | None = None,
) -> Outcome:
    if OutboxKind.ANONYMIZE in kinds:
        return _anonymize(contact, external_id=external_id, client=client, run=run)
    outcome = Outcome(ok=True, skipped=True)
    if OutboxKind.UPSERT in kinds or OutboxKind.INACTIVATE in kinds:
        # Before a blacklisting, no permission goes on: were the blacklisting to fail for a
        # while, the contact would be mailed meanwhile.
        inactivating = OutboxKind.INACTIVATE in kinds
        outcome = _upsert(
            contact, client=client, mapping=mapping, run=run, permissions=not inactivating
        )
    if outcome.ok and OutboxKind.INACTIVATE in kinds:
        outcome = _inactivate(contact, client=client, run=run)
    return outcome


def settle_entries(*, token: str, contact: Contact, outcome: Outcome) -> None:
    """Write the outcome on the claimed entries and the contact, in one transaction."""
    now = timezone.now()
    entries = OutboxEntry.objects.filter(
        claim=token, contact=contact, status=OutboxStatus.IN_FLIGHT
    )
    with transaction.atomic():
        if outcome.ok:
            # Skipped (nothing to send) is done but was never accepted by Spotler: no lag.
            accepted_at = None if outcome.skipped else outcome.answered_at
            entries.update(
                status=OutboxStatus.DONE, last_error="", claim="", accepted_at=accepted_at
            )
        elif outcome.transient:
            attempts = max(entries.values_list("attempts", flat=True), default=0) + 1
            wait = backoff(attempts)
            entries.update(
                status=OutboxStatus.PENDING, claim="", attempts=attempts,
                last_error=outcome.answer, not_before=now + wait,
            )  # fmt: skip
        else:
            entries.update(status=OutboxStatus.FAILED, last_error=outcome.answer, claim="")
        _update_contact_state(contact, outcome=outcome, now=now)
        followups.settle_after_push(contact, outcome)  # closes or reopens a bounce follow-up


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th transient failure in a row (even after the client's
    own retries), from SYNC_PUSH_BACKOFF_SECONDS; the last wait repeats."""
    waits = settings.SYNC_PUSH_BACKOFF_SECONDS
    return timedelta(seconds=waits[min(attempts, len(waits)) - 1])


def _update_contact_state(contact: Contact, *, outcome: Outcome, now) -> None:
    if outcome.transient:
        return  # still pending; the entry carries the reason and the next try
    if not outcome.ok:
        status, error = SyncStatus.FAILED, outcome.answer
    elif contact.erased_at:
        status, error = SyncStatus.ANONYMIZED, ""
    elif contact.inactivated_at:
        status, error = SyncStatus.INACTIVE, ""
    else:
        status, error = SyncStatus.SYNCED, ""
    # Only if no newer change arrived meanwhile: that one is still to be pushed.
    still_pending = OutboxEntry.objects.filter(
        contact=contact, status=OutboxStatus.PENDING
    ).exists()
    if still_pending and outcome.ok:
        status = SyncStatus.PENDING
    accepted = {"synced_at": now, "pushed_changed_at": contact.changed_at} if outcome.ok else {}
    Contact.objects.filter(pk=contact.pk).update(sync_status=status, sync_error=error, **accepted)


@dataclass
class Prepared:
    """A contact rendered for Spotler, the consent rule applied; ready to send."""

    contact: Contact
    wire: spotler.Contact
    payload: dict
    notes: list[str]
    # Bits sent as on although Spotler had reported them off (the shop consented again later).
    switched_on: list[int] = field(default_factory=list)


def _prepare_upsert(
    contact: Contact,
    *,
    mapping: CompiledMapping,
    spotler_off_at: dict | None = None,
    permissions: bool = True,
) -> Prepared | Outcome:
    """The contact as Spotler should receive it, or the Outcome saying why it cannot go.

    `spotler_off_at` ({bit: when Spotler reported it off}) is read here unless the caller
    loaded it for many contacts at once."""
    rendered = render_contact(
        external_id=contact.external_id, fields=source_fields_of(contact), mapping=mapping
    )
    if not rendered.pushable:
        reasons = "; ".join(str(p) for p in rendered.problems if p.blocking)
        return Outcome(
            ok=False, answer=f"Not sent: {reasons}. Fix it in the linked system.",
            payload=rendered.payload,
        )  # fmt: skip
    properties = dict(rendered.payload["properties"])
    if spotler_off_at is None:
        spotler_off_at = _spotler_off_at(contact)
    shop_changed_at = shop_consent_changed_at(contact, mapping=mapping)
    rendered_permissions = properties.pop(PERMISSIONS_PROPERTY, [])
    if not permissions:
        rendered_permissions = [p for p in rendered_permissions if not p["enabled"]]
    permissions, held = guard_permissions(
        rendered_permissions,
        spotler_off_at=spotler_off_at,
        shop_changed_at=shop_changed_at,
    )
    permissions, unchanged = _changed_since_last_push(
        permissions, contact=contact, mapping=mapping, shop_changed_at=shop_changed_at
    )
    switched_on = [
        int(p["bit"]) for p in permissions if p["enabled"] and int(p["bit"]) in spotler_off_at
    ]
    payload = {"externalId": contact.external_id, "properties": {**properties}}
    if permissions:
        payload["properties"][PERMISSIONS_PROPERTY] = permissions
    wire = spotler.Contact(
        external_id=contact.external_id,
        properties=properties,
        permissions={int(p["bit"]): bool(p["enabled"]) for p in permissions},
    )
    notes = [str(h) for h in held] + [str(p) for p in rendered.problems]
    if unchanged:
        bits = ", ".join(str(b) for b in unchanged)
        notes.append(
            f"Permission {bits} not sent again: unchanged in the shop since the last push."
        )
    return Prepared(contact, wire, payload, notes, switched_on)


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


def _upsert(
    contact: Contact, *, client, mapping: CompiledMapping, run, permissions: bool = True
) -> Outcome:
    prepared = _prepare_upsert(contact, mapping=mapping, permissions=permissions)
    if isinstance(prepared, Outcome):
        return _record(contact, run, SyncEventKind.PUSH, prepared)
    try:
        client.upsert_contact(prepared.wire, update=True, purge=False)
    except spotler.SpotlerError as error:
        return _record(contact, run, SyncEventKind.PUSH, _failure(error, prepared.payload))
    return _record(contact, run, SyncEventKind.PUSH, _accepted(prepared))


def upsert_many(
    contacts: list[Contact], *, client, mapping: CompiledMapping, run
) -> dict[int, Outcome]:
    """Upsert contacts 100 per `POST contact/list` call; one outcome per contact.

    What every contact needs from the database is read, and its timeline event written, once
    for all of them, so a backfill costs a few queries per 100 contacts, not per contact."""
    outcomes: dict[int, Outcome] = {}
    ready: list[Prepared] = []
    events: list[SyncEvent] = []
    off_at = _spotler_off_at_many([c.pk for c in contacts], contacts=contacts)
    for contact in contacts:
        prepared = _prepare_upsert(
            contact, mapping=mapping, spotler_off_at=off_at.get(contact.pk, {})
        )
        if isinstance(prepared, Outcome):
            outcomes[contact.pk] = _record(contact, run, SyncEventKind.PUSH, prepared, events)
        else:
            ready.append(prepared)
    for start in range(0, len(ready), BATCH_SIZE):
        chunk = ready[start : start + BATCH_SIZE]
        try:
            results = client.upsert_contacts([p.wire for p in chunk], update=True, purge=False)
        except spotler.SpotlerError as error:
            for p in chunk:
                outcomes[p.contact.pk] = _record(
                    p.contact, run, SyncEventKind.PUSH, _failure(error, p.payload), events
                )
            continue
        by_id = {r.external_id: r for r in results if r.external_id}
        padded = (list(results) + [None] * len(chunk))[: len(chunk)]
        for p, in_order in zip(chunk, padded, strict=True):
            result = by_id.get(p.contact.external_id, in_order)
            if result is not None and result.ok:
                outcome = _accepted(p)
            else:
                code, message = (result.code, result.message) if result else ("ERROR", "no answer")
                outcome = Outcome(
                    ok=False, answer=explain_batch_code(str(code), message), payload=p.payload
                )
            outcomes[p.contact.pk] = _record(p.contact, run, SyncEventKind.PUSH, outcome, events)
    SyncEvent.objects.bulk_create(events, batch_size=500)
    return outcomes


def _accepted(prepared: Prepared) -> Outcome:
    answer = "Spotler accepted it." + (" " + " ".join(prepared.notes) if prepared.notes else "")
    if prepared.switched_on:
        _note_switched_on(prepared.contact, prepared.switched_on)
    return Outcome(ok=True, answer=answer, payload=prepared.payload)


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


def _inactivate(contact: Contact, *, client, run) -> Outcome:
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
    return _record(contact, run, SyncEventKind.INACTIVATE, Outcome(ok=True, answer=answer))


def _anonymize(contact: Contact, *, external_id: str | None, client, run) -> Outcome:
    if not external_id:
        return Outcome(ok=True, skipped=True, answer="Already anonymized.")
    try:
        client.anonymize_contact(external_id)
    except spotler.SpotlerError as error:
        if error.error_type == "CONTACT_NOT_FOUND":
            # Never reached Spotler: nothing to anonymize there.
            outcome = Outcome(ok=True, answer="Spotler never had this contact.")
        else:
            outcome = _failure(error, {})
    else:
        outcome = Outcome(ok=True, answer="Spotler anonymized the contact.")
    if outcome.ok:
        # The anonymization was the last thing that needed the id.
        OutboxEntry.objects.filter(contact=contact).update(external_id="")
    return _record(contact, run, SyncEventKind.ANONYMIZE, outcome)


def _failure(error: spotler.SpotlerError, payload: dict) -> Outcome:
    return Outcome(ok=False, transient=not error.permanent, answer=explain(error), payload=payload)


def _record(
    contact: Contact, run, kind: str, outcome: Outcome, events: list[SyncEvent] | None = None
) -> Outcome:
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


def _spotler_off_at(contact: Contact) -> dict:
    return _spotler_off_at_many([contact.pk], contacts=[contact]).get(contact.pk, {})


def _spotler_off_at_many(
    contact_ids: list[int], *, contacts: list[Contact] = ()
) -> dict[int, dict]:
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


def _permission_bits() -> list[int] | None:
    catalogue = catalogue_entries() or {}
    entry = catalogue.get(PERMISSIONS_PROPERTY)
    return sorted(entry.bits) if entry else None


PUSH_REQUEST_KEY = "sync:push-requested"
PUSH_REQUEST_SECONDS = 30


def request_push() -> None:
    """Ask for a push soon; many changes in a row make one queued task, not one each.

    The task clears the request before it starts draining, so a change that arrives while it
    runs asks for (and gets) the next task.
    """
    from django.core.cache import cache
    from django_q.tasks import async_task

    from sync import tasks

    try:
        first = cache.add(PUSH_REQUEST_KEY, 1, timeout=PUSH_REQUEST_SECONDS)
    except DatabaseError as error:  # the cache table is missing; the broker may work all the same
        warn_cache_down("every change queues a push task of its own meanwhile", error)
        first = True
    if first:
        async_task(tasks.push_outbox, group="push", q_options={"task_name": "push"})


def clear_push_request() -> None:
    from django.core.cache import cache

    try:
        cache.delete(PUSH_REQUEST_KEY)
    except CACHE_DOWN as error:  # nothing to clear: without the cache no request is kept
        warn_cache_down("push requests are not collapsed meanwhile", error)


HELD_WAIT_KEY = "sync:push-waits-for-held"
# Past the sleep itself; the mark of a waiter that died expires after this.
HELD_WAIT_SLACK_SECONDS = 10


def quiet_period() -> timedelta:
    return timedelta(seconds=settings.SYNC_PUSH_QUIET_SECONDS)


def held_until() -> datetime | None:
    """When the first contact held back by its quiet period may go; None if none is waiting."""
    now = timezone.now()
    ready = OutboxEntry.objects.pending().filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )
    claims = OutboxEntry.objects.filter(
        contact_id__in=ready.values("contact_id"), claimed_at__gt=now - quiet_period()
    ).values_list("contact_id", "claimed_at")
    last_claim: dict[int, datetime] = {}
    for contact_id, claimed_at in claims:
        last_claim[contact_id] = max(claimed_at, last_claim.get(contact_id, claimed_at))
    return min(last_claim.values()) + quiet_period() if last_claim else None


def wait_for_held_contacts(*, sleep: Callable[[float], None] = time.sleep) -> bool:
    """Sleep until the first held contact may go; True if the caller should drain again.

    False when none is held, or another push task already waits for them: one task waits, and
    it checks again after each wait, so a held change never waits for the minutely schedule.
    """
    from django.core.cache import cache

    until = held_until()
    if until is None:
        return False
    seconds = (until - timezone.now()).total_seconds()
    try:
        if not cache.add(HELD_WAIT_KEY, 1, timeout=seconds + HELD_WAIT_SLACK_SECONDS):
            return False
    except CACHE_DOWN as error:  # several tasks may wait at once meanwhile; each sends its own
        warn_cache_down("push tasks may wait for held contacts side by side meanwhile", error)
    try:
        sleep(max(0.0, seconds) + 0.01)  # not a moment early: it would find it still held
    finally:
        with contextlib.suppress(*CACHE_DOWN):
            cache.delete(HELD_WAIT_KEY)
    return True
