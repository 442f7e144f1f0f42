"""Working a follow-up: start it, note, assign, and resolve it one of five ways.

Each operation checks everything first and then writes in one transaction, so bad input changes
nothing. Problems are `FollowUpProblem`s whose message says what to fix.
"""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit import trail
from bounces.followups import resolve
from bounces.models import FollowUp, FollowUpState, FollowUpStep, Resolution, StepAction
from bounces.owners import display_name, possible_owners
from contacts import ingest
from contacts.errors import InvalidFields
from contacts.models import Contact
from spotlersync.email_addresses import email_address_problem
from sync.models import OutboxKind
from sync.outbox import queue_outbox_entry

# The longest note, reason or lead note kept (the forms' limit for the same fields).
TEXT_LIMIT = 2000


class FollowUpProblem(Exception):
    """Input or a state that a follow-up cannot take; `fields` names the form fields at fault."""

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


def start(followup: FollowUp, *, by: User) -> None:
    with transaction.atomic():
        followup = _lock_unresolved(followup)
        if followup.state != FollowUpState.OPEN:
            return
        _mark_started(followup, by=by)
        followup.save()


def add_note(followup: FollowUp, *, by: User, text: str) -> None:
    """A line in the history; allowed on a done follow-up too (what happened later)."""
    text = text.strip()
    if not text:
        raise FollowUpProblem("Write the note first.", fields={"text": "Write something."})
    _check_length(text, field="text", what="A note")
    with transaction.atomic():
        FollowUpStep.objects.create(followup=followup, by=by, action=StepAction.NOTE, text=text)


def assign(followups: list[FollowUp], *, owner: User, by: User) -> int:
    """Give `followups` to `owner` (an Admin's act); returns how many changed hands. A done
    follow-up keeps the owner who did it: alone it is refused, among many it is left as is."""
    if owner not in possible_owners():
        raise FollowUpProblem(
            f"{display_name(owner)} cannot own follow-ups: only active users in the Account "
            "manager or Admin role can."
        )
    changed = 0
    with transaction.atomic():
        for followup in sorted(followups, key=lambda f: f.pk):  # the locks' order
            followup = FollowUp.objects.select_for_update().get(pk=followup.pk)
            if followup.is_done:
                if len(followups) == 1:
                    raise FollowUpProblem(
                        f"Follow-up #{followup.pk} is already done; it keeps the owner who "
                        "did it, and nothing was changed."
                    )
                continue
            if followup.owner_id == owner.pk and not followup.owner_unmatched:
                continue
            trail.record(
                actor=by, action="assigned", object_type="follow-up", obj=followup,
                object_label=f"#{followup.pk}",
                before={"owner": display_name(followup.owner) if followup.owner else None},
                after={"owner": display_name(owner)},
            )  # fmt: skip
            followup.owner, followup.owner_unmatched = owner, False
            followup.save(update_fields=["owner", "owner_unmatched"])
            FollowUpStep.objects.create(
                followup=followup, by=by, action=StepAction.ASSIGNED,
                text=f"Assigned to {display_name(owner)}.",
            )  # fmt: skip
            changed += 1
    return changed


def correct_email(followup: FollowUp, *, by: User, email: str) -> None:
    """Write the corrected address to the ledger and push it at once; the push's answer closes
    the follow-up (Spotler accepted it) or reopens it (Spotler refused it)."""
    problem = email_address_problem(email)
    if problem:
        raise FollowUpProblem(problem, fields={"email": problem})
    with transaction.atomic():
        followup = _lock_unresolved(followup)
        contact = ingest.lock_contact(external_id=followup.contact.external_id)
        if email.casefold() == (contact.email or "").casefold():
            same = f"{email} is the address the contact already has; type the corrected one."
            raise FollowUpProblem(same, fields={"email": same})
        fields = {**contact.fields, "email": email}
        try:
            fields = ingest.clean_contact(external_id=contact.external_id, raw_fields=fields)
        except InvalidFields as error:
            text = "; ".join(f"{name}: {why}" for name, why in error.fields.items())
            raise FollowUpProblem(f"The contact cannot take this address ({text}).") from None
        now = timezone.now()
        ingest.copy_fields(contact, fields=fields, now=now)
        ingest.mark_changed(contact, now=now)
        contact.save()
        queue_outbox_entry(contact=contact, kind=OutboxKind.UPSERT)
        if followup.state == FollowUpState.OPEN:
            _mark_started(followup, by=by)
        followup.pending_email = email
        followup.save()
        FollowUpStep.objects.create(
            followup=followup, by=by, action=StepAction.CORRECTION_SENT,
            text=f"Corrected to {email}; waiting for Spotler to accept it.",
        )  # fmt: skip


def record_replacement(
    followup: FollowUp, *, by: User, replacement: dict, new_employer: dict | None = None
) -> None:
    """The contact left; their successor (and optionally their new employer) become leads on the
    changes feed for the linked system to create."""
    errors = _lead_problems(replacement, prefix="replacement_", company=False)
    if new_employer and any(v.strip() for v in new_employer.values()):
        errors |= _lead_problems(new_employer, prefix="employer_", company=True)
    else:
        new_employer = None
    if errors:
        raise FollowUpProblem("Check the lead details.", fields=errors)
    data = {"replacement": _clean_lead(replacement)}
    if new_employer:
        data["new_employer"] = _clean_lead(new_employer)
    with transaction.atomic():
        followup = _lock_unresolved(followup)
        resolve(followup, resolution=Resolution.REPLACEMENT_FOUND, data=data, by=by)


def record_left(followup: FollowUp, *, by: User, note: str = "") -> None:
    note = note.strip()
    _check_length(note, field="note", what="The note")
    with transaction.atomic():
        followup = _lock_unresolved(followup)
        data = {"note": note} if note else {}
        resolve(followup, resolution=Resolution.LEFT_NO_REPLACEMENT, data=data, by=by)


def make_inactive(followup: FollowUp, *, by: User) -> None:
    """Blacklist the contact in Spotler (the ingest API's inactivate path) and close."""
    with transaction.atomic():
        followup = _lock_unresolved(followup)
        ingest.inactivate_contact(external_id=followup.contact.external_id)
        resolve(followup, resolution=Resolution.MADE_INACTIVE, data={}, by=by)


def dismiss(followups: list[FollowUp], *, by: User, reason: str) -> int:
    reason = reason.strip()
    if not reason:
        why = "Say why the follow-up needs no work; the reason is kept with it."
        raise FollowUpProblem(why, fields={"reason": why})
    _check_length(reason, field="reason", what="The reason")
    done = 0
    with transaction.atomic():
        for followup in sorted(followups, key=lambda f: f.contact_id):  # the locks' order
            try:
                followup = _lock_unresolved(followup)
            except FollowUpProblem:
                if len(followups) == 1:
                    raise
                continue  # among many, one already done (or waiting for Spotler) is left as is
            resolve(
                followup, resolution=Resolution.DISMISSED, data={"reason": reason}, by=by,
                note=reason,
            )  # fmt: skip
            done += 1
    return done


def _check_length(text: str, *, field: str, what: str) -> None:
    if len(text) > TEXT_LIMIT:
        why = f"{what} may be at most {TEXT_LIMIT} characters (it has {len(text)}); shorten it."
        raise FollowUpProblem(why, fields={field: why})


def _lock_unresolved(followup: FollowUp) -> FollowUp:
    # The contact first, as the bounce pull, the push and the ingest API lock it before its
    # follow-up: two of them never wait for each other.
    Contact.objects.select_for_update().filter(pk=followup.contact_id).first()
    locked = FollowUp.objects.select_for_update().select_related("contact").get(pk=followup.pk)
    if locked.is_done:
        raise FollowUpProblem(f"Follow-up #{locked.pk} is already done; nothing was changed.")
    if locked.pending_email:
        raise FollowUpProblem(
            f"Follow-up #{locked.pk} waits for Spotler to accept {locked.pending_email}; it "
            "closes or reopens by itself."
        )
    return locked


def _mark_started(followup: FollowUp, *, by: User) -> None:
    now = timezone.now()
    followup.state, followup.started_at, followup.started_by = FollowUpState.IN_PROGRESS, now, by
    FollowUpStep.objects.create(followup=followup, at=now, by=by, action=StepAction.STARTED)


def _lead_problems(lead: dict, *, prefix: str, company: bool) -> dict[str, str]:
    errors = {}
    key = "company" if company else "name"
    if not (lead.get(key) or "").strip():
        errors[prefix + key] = "Required." if company else "Give the successor's name."
    email = (lead.get("email") or "").strip()
    if not company and not email:
        errors[prefix + "email"] = "Give the successor's e-mail address."
    elif email:
        problem = email_address_problem(email)
        if problem:
            errors[prefix + "email"] = problem
    return errors


def _clean_lead(lead: dict) -> dict:
    return {key: value.strip() for key, value in lead.items() if value and value.strip()}
