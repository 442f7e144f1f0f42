"""Opening follow-ups from bounces, and closing them when a corrected address gets through.

The bounce pull hands every new bounce to `take_bounce`, inside the transaction that stores it:

- a hard bounce opens a follow-up at once;
- soft bounces open one when BOUNCES_SOFT_THRESHOLD of them (not yet part of a follow-up) arrive
  within BOUNCES_SOFT_DAYS;
- a contact has at most one unresolved follow-up (a constraint says so): further bounces are
  added to it, never a second one opened;
- a bounce of a contact that is erased (anonymized) or unknown to the ledger is kept and counted
  by the pull, without a follow-up.

The push hands every settled outcome to `settle_after_push`: an address corrected in the inbox
closes its follow-up when Spotler accepts it and reopens it, with Spotler's reason, when Spotler
refuses it; an address the linked system corrected (through the ingest API) closes the open
follow-up the same way once Spotler accepts it.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from bounces.models import (
    Bounce,
    BounceKind,
    FollowUp,
    FollowUpState,
    FollowUpStep,
    Resolution,
    StepAction,
)
from bounces.owners import find_owner
from contacts.feed import publish_change
from contacts.models import ChangeKind, Contact

# Who closed a follow-up when no person did (the push saw Spotler accept an address).
AUTOMATIC = "spotlersync"


def take_bounce(bounce: Bounce) -> FollowUp | None:
    """Add a newly stored bounce to its contact's follow-up, opening one when the rules say so."""
    contact = bounce.contact
    if contact is None or contact.is_erased:
        return None
    with transaction.atomic():
        current = _unresolved_locked(contact)
        if current is not None:
            return _add_bounces(current, [bounce])
        if bounce.kind == BounceKind.HARD:
            return open_followup(contact, bounces=[bounce])
        soft = _loose_soft_bounces(contact, until=bounce.bounced_at)
        if len(soft) >= settings.BOUNCES_SOFT_THRESHOLD:
            return open_followup(contact, bounces=soft)
    return None


def open_followup(contact: Contact, *, bounces: list[Bounce]) -> FollowUp:
    """A new follow-up holding `bounces`; publishes `followup_opened` on the feed."""
    match = find_owner(contact)
    now = timezone.now()
    latest = max(bounces, key=lambda b: b.bounced_at)
    followup = FollowUp(
        contact=contact, owner=match.owner, owner_unmatched=match.unmatched,
        owner_source=match.source, kind=_kind_of(bounces), email=latest.email or contact.email,
        opened_at=now, due_at=add_working_days(now, settings.BOUNCES_SERVICE_LEVEL_DAYS),
    )  # fmt: skip
    try:
        with transaction.atomic():
            followup.save(force_insert=True)
    except IntegrityError:
        # A pull running at the same time opened one first: add to that one.
        return _add_bounces(_unresolved_locked(contact), bounces)
    _attach(followup, bounces)
    owner = match.owner.get_username() if match.owner else "nobody"
    why = "a hard bounce" if followup.kind == BounceKind.HARD else f"{len(bounces)} soft bounces"
    text = f"Opened after {why}; owner {owner}."
    if match.unmatched:
        text += f" The account manager “{match.source or '(empty)'}” matched no user."
    FollowUpStep.objects.create(followup=followup, at=now, action=StepAction.OPENED, text=text)
    publish_change(
        kind=ChangeKind.FOLLOWUP_OPENED, external_id=contact.external_id,
        payload=opened_payload(followup),
    )  # fmt: skip
    if match.owner is not None and match.owner.email:
        from bounces import notify

        transaction.on_commit(lambda: notify.followup_opened(followup_id=followup.pk))
    return followup


def settle_after_push(contact: Contact, outcome: Any) -> None:
    """The push settled an outcome for `contact` (`ok`, `transient`, `skipped`, `answer`)."""
    if outcome.transient or (outcome.ok and outcome.skipped):
        return
    followup = FollowUp.objects.unresolved().filter(contact_id=contact.pk).first()
    if followup is None:
        return
    address = (contact.email or "").casefold()
    if followup.pending_email:
        if not outcome.ok:
            reopen(followup, reason=outcome.answer)
        elif address == followup.pending_email.casefold():
            by = _corrected_by(followup)
            data = {
                "email": contact.email,
                "previous_email": followup.email,
                "corrected_in": "inbox",
            }
            resolve(followup, resolution=Resolution.EMAIL_CORRECTED, data=data, by=by)
    elif outcome.ok and followup.email and address and address != followup.email.casefold():
        data = {
            "email": contact.email, "previous_email": followup.email,
            "corrected_in": "linked system",
        }  # fmt: skip
        resolve(followup, resolution=Resolution.EMAIL_CORRECTED, data=data, by=None)


def resolve(followup: FollowUp, *, resolution: str, data: dict, by, note: str = "") -> None:
    """Close `followup` with `resolution`; publishes `followup_resolved` on the feed."""
    now = timezone.now()
    followup.state = FollowUpState.DONE
    followup.resolved_at, followup.resolved_by = now, by
    followup.resolution, followup.resolution_data = resolution, data
    followup.pending_email = ""
    if followup.started_at is None:
        followup.started_at, followup.started_by = now, by
    followup.save()
    label = Resolution(resolution).label
    text = f"{label}." + (f" {note}" if note else "")
    FollowUpStep.objects.create(
        followup=followup, at=now, by=by, action=StepAction.RESOLVED, text=text
    )
    publish_change(
        kind=ChangeKind.FOLLOWUP_RESOLVED, external_id=followup.contact.external_id,
        payload=resolved_payload(followup),
    )  # fmt: skip


def reopen(followup: FollowUp, *, reason: str) -> None:
    """Spotler refused the corrected address: the follow-up is open again, with its reason."""
    refused = followup.pending_email
    followup.state, followup.pending_email = FollowUpState.OPEN, ""
    followup.save(update_fields=["state", "pending_email"])
    FollowUpStep.objects.create(
        followup=followup, action=StepAction.REOPENED,
        text=f"Spotler refused {refused}: {reason}",
    )  # fmt: skip


def forget_contact(contact: Contact) -> None:
    """The contact was erased: its follow-ups (names, addresses, notes) go with its data."""
    FollowUp.objects.filter(contact=contact).delete()


def add_working_days(start: datetime, days: int) -> datetime:
    """`start` plus `days` working days (Monday to Friday), at the same time of day."""
    moment = start
    added = 0
    while added < days:
        moment += timedelta(days=1)
        if timezone.localtime(moment).weekday() < 5:
            added += 1
    return moment


def opened_payload(followup: FollowUp) -> dict:
    return {
        "followup": followup.pk,
        "type": followup.kind,
        "email": followup.email,
        "owner": followup.owner.get_username() if followup.owner else "",
        "owner_unmatched": followup.owner_unmatched,
        "opened_at": followup.opened_at.isoformat(),
        "due_at": followup.due_at.isoformat(),
        "bounces": followup.bounce_count,
    }


def resolved_payload(followup: FollowUp) -> dict:
    return {
        "followup": followup.pk,
        "resolution": followup.resolution,
        "data": followup.resolution_data,
        "resolved_at": followup.resolved_at.isoformat(),
        "resolved_by": followup.resolved_by.get_username() if followup.resolved_by else AUTOMATIC,
    }


def _unresolved_locked(contact: Contact) -> FollowUp | None:
    return FollowUp.objects.select_for_update().unresolved().filter(contact=contact).first()


def _loose_soft_bounces(contact: Contact, *, until: datetime) -> list[Bounce]:
    """The contact's soft bounces within the period up to `until` that no follow-up holds."""
    since = until - timedelta(days=settings.BOUNCES_SOFT_DAYS)
    return list(
        Bounce.objects.filter(
            contact=contact, kind=BounceKind.SOFT, followup__isnull=True,
            bounced_at__gt=since, bounced_at__lte=until,
        )
    )  # fmt: skip


def _add_bounces(followup: FollowUp, bounces: list[Bounce]) -> FollowUp:
    _attach(followup, bounces)
    if any(b.kind == BounceKind.HARD for b in bounces) and followup.kind != BounceKind.HARD:
        followup.kind = BounceKind.HARD
        followup.save(update_fields=["kind"])
    kinds = ", ".join(b.get_kind_display().lower() for b in bounces)
    FollowUpStep.objects.create(
        followup=followup, action=StepAction.BOUNCED_AGAIN, text=f"Bounced again ({kinds})."
    )
    return followup


def _attach(followup: FollowUp, bounces: list[Bounce]) -> None:
    Bounce.objects.filter(pk__in=[b.pk for b in bounces]).update(followup=followup)
    latest = max(b.bounced_at for b in bounces)
    followup.bounce_count += len(bounces)
    if followup.last_bounce_at is None or latest > followup.last_bounce_at:
        followup.last_bounce_at = latest
    followup.save(update_fields=["bounce_count", "last_bounce_at"])


def _kind_of(bounces: list[Bounce]) -> str:
    return BounceKind.HARD if any(b.kind == BounceKind.HARD for b in bounces) else BounceKind.SOFT


def _corrected_by(followup: FollowUp):
    step = followup.steps.filter(action=StepAction.CORRECTION_SENT).order_by("-at", "-id").first()
    return step.by if step else None


# The contacts pages' bounced state: contacts with an unresolved follow-up.
BOUNCED = "bounced"


def bounced_contacts(contacts):
    """`contacts` narrowed to those with an unresolved follow-up (the list's "bounced" filter)."""
    return contacts.filter(pk__in=FollowUp.objects.unresolved().values("contact_id"))


def with_open_followup(contacts):
    """`contacts` with `open_followup_id`: their unresolved follow-up's id, or None."""
    unresolved = FollowUp.objects.unresolved().filter(contact_id=OuterRef("pk")).values("pk")[:1]
    return contacts.annotate(open_followup_id=Subquery(unresolved))


def count_bounced(cap: int) -> int:
    return FollowUp.objects.unresolved().order_by()[: cap + 1].count()
