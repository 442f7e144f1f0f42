"""The guard on push: under e-mail deduplication, a new external id whose address another
contact already holds waits for an Admin instead of merging into that contact in Spotler.

Spotler, when the account deduplicates on the e-mail address, lands a *new* externalId whose
address it already has on the existing contact and rewrites that contact's id field
(spotler-api.md §13.3; the sandbox's `upsert` does the same). Sent blindly, the second customer
of a household would take over the first one's Spotler contact. So every push screens the
contacts it has just claimed (`screen_claimed`, in the claim's own transaction: the live push's
`sync.push_claims.claim_contacts` and the backfill's `sync.backfill.hold_contacts`, which every
push path goes through) and holds a contact when all of these are true:

- the Spotler account deduplicates on the e-mail address (`SpotlerAccount.dedupes_on_email`);
  under externalId deduplication nothing is held, and the screening reads nothing more;
- Spotler has never accepted the contact (`synced_at` empty). An update of an external id
  Spotler already holds does not merge, not even when the shop changes the address to another
  contact's: Spotler keeps two contacts then, so only new ids are held;
- another live ledger contact has the same address, trimmed and compared case-insensitively
  (`email_lower`; the ingest trims every value), and that contact is in Spotler (accepted
  once), or is being sent right now by another worker, or came first (a smaller id) and waits
  to go. A contact that is held itself, merged, kept local only, or refused by Spotler for good
  does not count: it is not in Spotler and is not about to be;
- no Admin released it with "send" (`identity_decision`).

Two contacts of one address that arrive together: the first (smaller id) goes, the second is
held. Two workers screening them at once take turns (`take_turn`): under e-mail deduplication
each claim locks the Spotler account's row until it commits, so the second worker sees the
first one's contact in flight (or held) and decides accordingly; one goes, the other is held,
never both and never neither.

A held contact's claimed entries wait as `held` (not retried by the schedule, not lost); the
contact shows `held` with the reason and the other contact (`held_twin`). A later change from
the shop claims it again and screens it afresh: no longer clashing, it is sent with every
change it held. An Admin releases a hold (identity/release.py); a contact merged into the other
or kept local only is never sent, and the changes the shop sends of it are settled unsent here.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import BooleanField, Case, Q, Subquery, Value, When
from django.utils import timezone

from contacts.models import Contact, SyncStatus
from identity.models import DedupeMode, SpotlerAccount
from sync.models import OutboxEntry, OutboxStatus

SEND, MERGE, LOCAL = "send", "merge", "local"
# An Admin's answers that keep a contact out of Spotler, and the state each leaves it in.
KEPT_OUT = {MERGE: SyncStatus.MERGED, LOCAL: SyncStatus.LOCAL_ONLY}
KEPT_OUT_NOTES = {
    MERGE: "Not sent: an Admin merged this contact into another one that Spotler has.",
    LOCAL: "Not sent: an Admin chose to keep this contact local only.",
}
# The other contact of an address is not about to reach Spotler in these states.
NOT_GOING = {
    SyncStatus.HELD,
    SyncStatus.MERGED,
    SyncStatus.LOCAL_ONLY,
    SyncStatus.FAILED,
    SyncStatus.DISMISSED,
}


@dataclass(frozen=True)
class Claimed:
    """What the claim's lock query read of a contact: enough to screen it without another read
    under externalId deduplication."""

    pk: int
    identity_decision: str
    held_twin_id: int | None
    erased_at: datetime | None


@dataclass(frozen=True)
class Hold:
    twin_id: int
    reason: str


@dataclass(frozen=True)
class _Row:
    pk: int
    external_id: str
    email_lower: str
    synced_at: datetime | None
    sync_status: str
    identity_decision: str
    sending: bool  # held in flight by another worker's claim

    FIELDS = (
        "pk", "external_id", "email_lower", "synced_at", "sync_status", "identity_decision",
        "sending",
    )  # fmt: skip


CLAIMED_FIELDS = ("pk", "identity_decision", "held_twin_id", "erased_at")


def take_turn() -> bool:
    """Start a claim's screening, first thing in its transaction: True under e-mail
    deduplication, with the Spotler account's row locked until the claim commits (before any
    contact is: holding a contact sets `held_twin`, whose key check waits for a contact another
    claim may hold, so the account row is always taken first). One query in either mode."""
    # The one account row is pk 1 (`SpotlerAccount.current`); none yet means externalId.
    email = SpotlerAccount.objects.select_for_update().filter(pk=1, dedupe_mode=DedupeMode.EMAIL)
    return bool(list(email.values_list("pk", flat=True)))


def screen_claimed(claimed: list[Claimed], *, token: str, by_email: bool) -> list[int]:
    """Of the contacts just claimed under `token` (their entries in flight), the ids to push.

    Must run in the claim's transaction, `by_email` from its `take_turn()`. Contacts an Admin
    merged or kept local only have their entries settled unsent; under e-mail deduplication, a
    contact that would merge into another one's Spotler contact has its entries held, which
    costs one query for all the contacts, whatever their number.
    """
    # An erased contact goes on to its anonymization, whatever was decided before.
    kept_out = {
        c.pk: c.identity_decision
        for c in claimed
        if c.identity_decision in KEPT_OUT and c.erased_at is None
    }
    if kept_out:
        _keep_out(kept_out, token=token)
    candidates = [c for c in claimed if c.pk not in kept_out]
    holds: dict[int, Hold] = {}
    if candidates and by_email:
        holds = find_clashes([c.pk for c in candidates], token=token)
        if holds:
            _hold(holds, token=token)
    # Held before and now let through (the clash is gone): its held changes go with this push.
    freed = [c.pk for c in candidates if c.held_twin_id and c.identity_decision != SEND]
    freed = [pk for pk in freed if pk not in holds]
    if freed:
        OutboxEntry.objects.filter(contact_id__in=freed, status=OutboxStatus.HELD).update(
            status=OutboxStatus.IN_FLIGHT, claim=token, claimed_at=timezone.now()
        )
        Contact.objects.filter(pk__in=freed).update(held_twin=None)
        # No longer held while it is sent (a backfill's claim does not pass through the ingest,
        # which sets it pending): a transient failure leaves it waiting, not held.
        Contact.objects.filter(pk__in=freed, sync_status=SyncStatus.HELD).update(
            sync_status=SyncStatus.PENDING, sync_error=""
        )
    return [c.pk for c in candidates if c.pk not in holds]


def find_clashes(contact_ids: list[int], *, token: str = "") -> dict[int, Hold]:
    """The contacts of `contact_ids` that must be held, with the other contact and the reason.

    One query reads every live contact at the addresses of those that could clash (new, not
    released with "send"); the rules are applied to that in memory, smallest id first, so of
    two new contacts of one address among `contact_ids` the first goes and the second is held.
    """
    screened = (
        Contact.objects.filter(pk__in=contact_ids, synced_at__isnull=True, erased_at__isnull=True)
        .exclude(email_lower="")
        .exclude(identity_decision=SEND)
        .order_by()
    )
    # In flight under another claim: few rows, read once (a hashed subplan), not per contact.
    elsewhere = OutboxEntry.objects.filter(status=OutboxStatus.IN_FLIGHT).exclude(claim=token)
    same_address = Contact.objects.filter(
        erased_at__isnull=True, email_lower__in=Subquery(screened.values("email_lower"))
    ).annotate(
        # Asked only of a contact Spotler does not have yet: one it has counts anyway.
        sending=Case(
            When(
                synced_at__isnull=True,
                pk__in=Subquery(elsewhere.values("contact_id")),
                then=Value(True),
            ),
            default=Value(False),
            output_field=BooleanField(),
        )
    )
    rows = [_Row(*values) for values in same_address.order_by("pk").values_list(*_Row.FIELDS)]
    by_address: dict[str, list[_Row]] = {}
    for row in rows:
        by_address.setdefault(row.email_lower, []).append(row)
    wanted = set(contact_ids)
    holds: dict[int, Hold] = {}
    for row in rows:  # smallest id first
        if row.pk not in wanted or row.synced_at or row.identity_decision == SEND:
            continue
        found = _twin_of(row, by_address[row.email_lower], held=holds)
        if found is not None:
            twin, reason = found
            holds[row.pk] = Hold(twin_id=twin.pk, reason=reason)
    return holds


def _twin_of(row: _Row, others: list[_Row], *, held: dict[int, Hold]) -> tuple[_Row, str] | None:
    """The contact `row` would merge into in Spotler, and why; None when it may go."""
    others = [o for o in others if o.pk != row.pk]
    in_spotler = next((o for o in others if o.synced_at), None)
    if in_spotler is not None:
        return in_spotler, _reason(row, in_spotler, why="is in Spotler already with")
    sending = next((o for o in others if o.sending and o.sync_status != SyncStatus.HELD), None)
    if sending is not None:
        return sending, _reason(row, sending, why="is being sent to Spotler right now with")
    first = next(
        (
            o
            for o in others
            if o.pk < row.pk
            and o.pk not in held
            and o.sync_status not in NOT_GOING
            and o.identity_decision not in KEPT_OUT
        ),
        None,
    )
    if first is not None:
        return first, _reason(row, first, why="came first, to go to Spotler first, with")
    return None


def _reason(row: _Row, twin: _Row, *, why: str) -> str:
    return (
        f"{twin.external_id} {why} the same e-mail address. The Spotler account "
        f"deduplicates on e-mail, so sending {row.external_id} would merge it into "
        f"{twin.external_id}'s Spotler contact and rewrite that contact's external id. An Admin "
        f"decides: send it anyway, merge it into {twin.external_id}, or keep it local only."
    )


def _hold(holds: dict[int, Hold], *, token: str) -> None:
    """Park the held contacts' claimed entries (and any they held before) with the reason."""
    reason = Case(
        *(When(contact_id=pk, then=Value(hold.reason)) for pk, hold in holds.items()),
        default=Value(""),
    )
    OutboxEntry.objects.filter(contact_id__in=list(holds)).filter(
        Q(claim=token, status=OutboxStatus.IN_FLIGHT) | Q(status=OutboxStatus.HELD)
    ).update(status=OutboxStatus.HELD, claim="", last_error=reason)
    held = [
        Contact(pk=pk, sync_status=SyncStatus.HELD, sync_error=h.reason, held_twin_id=h.twin_id)
        for pk, h in holds.items()
    ]
    Contact.objects.bulk_update(held, ["sync_status", "sync_error", "held_twin"])


def _keep_out(decisions: dict[int, str], *, token: str) -> None:
    """Settle the claimed entries of contacts an Admin kept out of Spotler, unsent; the shop's
    change made them pending again, their Admin's answer puts them back."""
    for decision, status in KEPT_OUT.items():
        pks = [pk for pk, d in decisions.items() if d == decision]
        if not pks:
            continue
        OutboxEntry.objects.filter(
            claim=token, contact_id__in=pks, status=OutboxStatus.IN_FLIGHT
        ).update(status=OutboxStatus.SUPERSEDED, claim="", last_error=KEPT_OUT_NOTES[decision])
        Contact.objects.filter(pk__in=pks).update(sync_status=status)
