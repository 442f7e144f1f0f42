"""An Admin's answer to a contact held for review (identity/guard.py): send it anyway, merge it
into the other contact, or keep it local only; and, later, send a merged or local-only contact
after all. Each answer is written to the audit trail.

- **Send**: its held changes go back to the outbox and the guard lets it through from now on.
  Under e-mail deduplication Spotler merges it into the other contact's Spotler contact, which
  then carries this contact's external id.
- **Merge into the other**: this customer *is* the other one in Spotler. Nothing of it is sent,
  now or later: the shop's later changes of it are kept in the ledger and settled unsent.
- **Keep local only**: never sent to Spotler; the shop's later changes are kept here only.
"""

from dataclasses import dataclass, replace

from django.db import transaction
from django.utils import dateformat, timezone

from audit import trail
from audit.models import AuditEntry
from contacts.models import Contact, SyncStatus
from identity.guard import KEPT_OUT, LOCAL, MERGE, SEND
from identity.models import SpotlerAccount
from sync.models import OutboxEntry, OutboxKind, OutboxStatus
from sync.outbox import ask_for_push, queue_outbox_entry

DECISIONS = {
    SEND: "Send to Spotler anyway",
    MERGE: "Merge into the other contact",
    LOCAL: "Keep local only",
}
AUDIT_ACTION, AUDIT_OBJECT = "hold released", "contact"


class CannotRelease(Exception):
    pass


@dataclass(frozen=True)
class Standing:
    """Where a contact stands with the guard, for its page: which answers it may get now."""

    open: bool  # held, waiting for an Admin
    decision: str  # "" / send / merge / local
    twin: Contact | None
    decided: AuditEntry | None = None  # who answered, and when
    by_email: bool = False  # the account deduplicates on e-mail (read only for a shown hold)

    @property
    def shown(self) -> bool:
        return self.open or bool(self.decision)

    @property
    def answers(self) -> list[tuple[str, str]]:
        """(decision, button label) an Admin may give now."""
        if not self.open and self.decision not in KEPT_OUT:
            return []
        return [
            (value, label)
            for value, label in DECISIONS.items()
            if value != self.decision and not (value == MERGE and self.twin is None)
        ]


def hold_standing(contact: Contact) -> Standing:
    """The contact's hold: open (waiting for an Admin), or the Admin's answer to it."""
    twin = decided = None
    if contact.held_twin_id:
        twin = Contact.objects.filter(pk=contact.held_twin_id, erased_at__isnull=True).first()
    if contact.identity_decision:
        decided = AuditEntry.objects.filter(
            object_type=AUDIT_OBJECT, object_id=str(contact.pk), action=AUDIT_ACTION
        ).first()
    standing = Standing(
        open=is_held(contact), decision=contact.identity_decision, twin=twin, decided=decided
    )
    if not standing.shown:
        return standing
    return replace(standing, by_email=SpotlerAccount.current().dedupes_on_email)


def is_held(contact: Contact) -> bool:
    """Held and not answered yet (a change from the shop made since is screened again)."""
    return (
        contact.erased_at is None
        and contact.synced_at is None
        and not contact.identity_decision
        and (contact.sync_status == SyncStatus.HELD or contact.held_twin_id is not None)
    )


def release_hold(*, contact: Contact, decision: str, user) -> str:
    """Apply an Admin's answer; the confirmation to show. `CannotRelease` says why not."""
    if decision not in DECISIONS:
        raise CannotRelease("Choose send, merge or keep local only.")
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        standing = hold_standing(contact)
        if contact.erased_at is not None:
            raise CannotRelease("This contact was erased; there is nothing left to release.")
        if (
            standing.open
            and OutboxEntry.objects.filter(contact=contact, status=OutboxStatus.IN_FLIGHT).exists()
        ):
            # The clash is gone (the other contact changed or was erased) and a backfill sends
            # it now, still marked held until its outcome settles it.
            raise CannotRelease(
                f"{contact.external_id} is being sent to Spotler right now: no other contact has "
                "its address any more. Nothing was changed; reload the page in a moment."
            )
        if decision not in dict(standing.answers):
            raise CannotRelease(_not_open(contact, decision=decision, standing=standing))
        before = {"decision": contact.identity_decision, "sync_status": contact.sync_status}
        if decision == SEND:
            message = _send(contact, twin=standing.twin)
        else:
            message = _keep_out(contact, decision=decision, twin=standing.twin, user=user)
        trail.record(
            actor=user, action=AUDIT_ACTION, object_type=AUDIT_OBJECT, obj=contact,
            object_label=contact.external_id or "",
            before=before,
            after={
                "decision": decision, "sync_status": contact.sync_status,
                "other_contact": standing.twin.external_id if standing.twin else None,
            },
        )  # fmt: skip
    return message


def _send(contact: Contact, *, twin: Contact | None) -> str:
    contact.identity_decision, contact.sync_status, contact.sync_error = (
        SEND, SyncStatus.PENDING, ""
    )  # fmt: skip
    contact.save(update_fields=["identity_decision", "sync_status", "sync_error"])
    returned = OutboxEntry.objects.filter(contact=contact, status=OutboxStatus.HELD).update(
        status=OutboxStatus.PENDING, claim="", last_error="", not_before=None
    )
    if not returned:  # merged or local only before: its changes were settled unsent
        queue_outbox_entry(contact=contact, kind=OutboxKind.UPSERT)
    else:
        transaction.on_commit(ask_for_push)
    other = twin.external_id if twin else "the other contact"
    if SpotlerAccount.current().dedupes_on_email:
        return (
            f"{contact.external_id} goes to Spotler in a few seconds. Spotler deduplicates on "
            f"e-mail, so it merges it into {other}'s Spotler contact, which then carries "
            f"{contact.external_id} as its external id."
        )
    return (
        f"{contact.external_id} goes to Spotler in a few seconds, as a contact of its own (the "
        f"account deduplicates on external id)."
    )


def _keep_out(contact: Contact, *, decision: str, twin: Contact | None, user) -> str:
    when = dateformat.format(timezone.localtime(), "j M Y H:i")
    who = user.get_username()
    if decision == MERGE:
        note = (
            f"Merged into {twin.external_id} by {who} on {when}: this customer is "
            f"{twin.external_id}'s contact in Spotler. Changes from the shop are kept here and "
            "not sent."
        )
        message = (
            f"{contact.external_id} is merged into {twin.external_id}: nothing of it is sent to "
            "Spotler, now or when the shop changes it."
        )
    else:
        note = (
            f"Kept local only by {who} on {when}. Changes from the shop are kept here and not "
            "sent to Spotler."
        )
        message = f"{contact.external_id} is kept local only: nothing of it is sent to Spotler."
    contact.identity_decision, contact.sync_status = decision, KEPT_OUT[decision]
    contact.sync_error = note
    contact.save(update_fields=["identity_decision", "sync_status", "sync_error"])
    OutboxEntry.objects.filter(
        contact=contact, status__in=[OutboxStatus.HELD, OutboxStatus.PENDING]
    ).update(status=OutboxStatus.SUPERSEDED, claim="", last_error=note)
    return message


def _not_open(contact: Contact, *, decision: str, standing: Standing) -> str:
    if not standing.open and standing.decision not in KEPT_OUT:
        state = contact.get_sync_status_display().lower()
        return f"{contact.external_id} is not held for review (it is {state}); nothing was changed."
    if standing.decision == decision:
        return f"{contact.external_id} was already released this way; nothing was changed."
    if decision == MERGE and standing.twin is None:
        return (
            "The other contact is no longer in the ledger (erased); send this one or keep it "
            "local only."
        )
    return f"{contact.external_id} cannot be released that way; nothing was changed."
