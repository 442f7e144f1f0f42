"""The fixes a reconciliation's findings offer: push again, pull, ignore; and every missing
contact of a run pushed again at once. Each is written to the audit trail.

- *Push again* queues the contact's upsert through the outbox, as a retry does: the push sends
  the ledger's state through the mapping in force, and the consent rule still applies. A
  contact missing in Spotler goes whole, as on its first push (Spotler has no copy whose
  consents could be newer than the shop's); otherwise a consent the shop has not changed since
  Spotler last accepted the contact is not sent again.
- *Pull* takes Spotler's values into the ledger as the pull of updates does (sync/pull.py
  `take_in`): Spotler's state and consents, the changes feed (for the linked system to take
  them in) and the contact's timeline. Only what the mapping brings back from Spotler can be
  pulled; a field the linked system owns is never changed from here.
- *Ignore* closes the finding; the same drift found by a later run stays ignored.
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

import spotler
from audit import trail
from contacts.models import Contact, SyncStatus
from identity.models import DriftFinding, DriftKind, FindingState
from mapping.render import Row
from mapping.versions import current_version
from sync import pull
from sync.models import OutboxStatus, SyncRun
from sync.outbox import queue_upserts
from sync.timeline import CannotPush, push_contact_now

# A contact in one of these states is not sent from here: an Admin decided it stays out.
NOT_PUSHED = {
    SyncStatus.HELD: "is held for review (an Admin decides on the contacts page)",
    SyncStatus.MERGED: "was merged into another contact",
    SyncStatus.LOCAL_ONLY: "is kept local only",
}


class CannotFix(Exception):
    """The fix cannot be made; the text says why, for the person who asked."""


def push_again(finding: DriftFinding, *, user: AbstractBaseUser) -> None:
    contact = _contact_to_push(finding)
    with transaction.atomic():
        if finding.kind == DriftKind.MISSING:
            Contact.objects.filter(pk=contact.pk).update(pushed_changed_at=None)
        try:
            push_contact_now(contact=contact)
        except CannotPush as error:
            raise CannotFix(str(error)) from None
        _resolve(finding, state=FindingState.PUSHED, user=user)


def pull_in(finding: DriftFinding, *, user: AbstractBaseUser) -> list[str]:
    """Spotler's values of the finding into the ledger; the lines published on the feed."""
    _check_open(finding)
    if finding.kind not in (DriftKind.FIELDS, DriftKind.CONSENT) or finding.contact is None:
        raise CannotFix(_why_no_pull(finding))
    rows = pull.back_rows(current_version().rows)
    pullable = [d for d in finding.details if _pullable(d, rows=rows)]
    if not pullable:
        raise CannotFix(
            "Nothing here comes back from Spotler: the mapping sends it to Spotler only, and "
            "the linked system owns it. Push again to give Spotler the shop's value."
        )
    copy = spotler.Contact(
        external_id=finding.external_id,
        properties={d["field"]: d["spotler"] for d in pullable if "bit" not in d},
        permissions={int(d["bit"]): bool(d["spotler"]) for d in pullable if "bit" in d},
        last_changed=_spotler_changed_at(pullable),
    )
    with transaction.atomic():
        published = pull.take_in(
            copy, contact_id=finding.contact_id, properties=list(copy.properties),
            bits=list(copy.permissions), run=finding.run,
        )  # fmt: skip
        _resolve(finding, state=FindingState.PULLED, user=user, note=published)
    return published


def ignore(finding: DriftFinding, *, user: AbstractBaseUser) -> None:
    _check_open(finding)
    with transaction.atomic():
        _resolve(finding, state=FindingState.IGNORED, user=user)


def push_missing_again(run: SyncRun, *, user: AbstractBaseUser) -> int:
    """Every contact the run found missing in Spotler, and has not been fixed since, queued for
    a push in one go; those that may not be pushed (erased, held, ...) stay open."""
    with transaction.atomic():
        findings = list(
            # Only the findings are locked (a second click waits, then finds them closed).
            DriftFinding.objects.select_for_update(of=("self",))
            .filter(run=run, kind=DriftKind.MISSING, state=FindingState.OPEN)
            .filter(contact__erased_at__isnull=True)
            .exclude(contact__sync_status__in=list(NOT_PUSHED))
            .select_related("contact")
        )
        contacts = [f.contact for f in findings]
        ids = [c.pk for c in contacts]
        Contact.objects.filter(pk__in=ids).update(pushed_changed_at=None)
        for contact in contacts:
            # Earlier failures are settled by this push, as a retry's are.
            contact.outbox_entries.filter(status=OutboxStatus.FAILED).update(
                status=OutboxStatus.SUPERSEDED
            )
        queue_upserts(contacts=contacts)
        now = timezone.now()
        DriftFinding.objects.filter(pk__in=[f.pk for f in findings]).update(
            state=FindingState.PUSHED, resolved_by=user, resolved_at=now
        )
        if findings:
            trail.record(
                actor=user, action="pushed again", object_type="drift findings",
                object_id=run.pk, object_label=f"contacts missing in Spotler, run #{run.pk}",
                after={"contacts": len(findings)},
            )  # fmt: skip
    return len(findings)


def _contact_to_push(finding: DriftFinding) -> Contact:
    _check_open(finding)
    if finding.kind == DriftKind.UNKNOWN:
        raise CannotFix(_why_no_pull(finding))
    contact = finding.contact
    if contact is None or contact.is_erased:
        raise CannotFix("This contact was erased since; there is nothing left to push.")
    if contact.sync_status in NOT_PUSHED:
        raise CannotFix(f"{contact.external_id} {NOT_PUSHED[contact.sync_status]}: not pushed.")
    return contact


def _check_open(finding: DriftFinding) -> None:
    if finding.state != FindingState.OPEN:
        who = f" by {finding.resolved_by.get_username()}" if finding.resolved_by else ""
        state = finding.get_state_display().lower()
        raise CannotFix(f"This finding was already dealt with ({state}{who}).")


def _why_no_pull(finding: DriftFinding) -> str:
    if finding.kind == DriftKind.UNKNOWN:
        return (
            f"The ledger does not know {finding.external_id}: only the linked system can send "
            "it (it then goes to Spotler as any contact), or it is removed in Spotler. Ignore "
            "it once it is dealt with."
        )
    return "Spotler holds no copy of this contact to pull from; push it again instead."


def _pullable(detail: dict, *, rows: list[Row]) -> bool:
    """A difference the pull can take in: one the mapping brings back from Spotler."""
    if "bit" in detail:
        return any(r.bit == int(detail["bit"]) for r in rows)
    return any(r.bit is None and r.spotler_property == detail["field"] for r in rows)


def _spotler_changed_at(details: list[dict]) -> datetime | None:
    stamps = [d["spotler_changed_at"] for d in details if d.get("spotler_changed_at")]
    return max(datetime.fromisoformat(s) for s in stamps) if stamps else None


def _resolve(
    finding: DriftFinding, *, state: str, user: AbstractBaseUser, note: list[str] = ()
) -> None:
    """Close the finding once (a double click finds it closed) and audit it."""
    now = timezone.now()
    closed = DriftFinding.objects.filter(pk=finding.pk, state=FindingState.OPEN).update(
        state=state, resolved_by=user, resolved_at=now
    )
    if not closed:
        raise CannotFix("This finding was already dealt with.")
    finding.state, finding.resolved_by, finding.resolved_at = state, user, now
    after = {"state": state, "published": list(note)} if note else {"state": state}
    trail.record(
        actor=user, action=FindingState(state).label.lower(), object_type="drift finding",
        obj=finding, object_label=f"{finding} (run #{finding.run_id})",
        before={"state": FindingState.OPEN}, after=after,
    )  # fmt: skip
