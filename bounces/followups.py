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
refuses it (only the push that carried the correction counts: an older state's answer says
nothing about it); an address the linked system corrected (through the ingest API) closes the open
follow-up the same way once Spotler accepts it.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django_q.tasks import async_task

from bounces import tasks
from bounces.models import (
    Bounce,
    BounceKind,
    FollowUp,
    FollowUpState,
    FollowUpStep,
    LedgerState,
    Resolution,
    StepAction,
)
from bounces.owners import display_name, find_owner, possible_owners
from contacts.feed import publish_change, publish_changes
from contacts.models import Change, ChangeKind, Contact

# Who closed a follow-up when no person did (the push saw Spotler accept an address).
AUTOMATIC = "spotlersync"


def take_bounce(bounce: Bounce) -> FollowUp | None:
    """Add a newly stored bounce to its contact's follow-up, opening one when the rules say so."""
    return open_for_bounces([bounce]).get(bounce.contact_id)


def open_for_bounces(bounces: list[Bounce]) -> dict[int, FollowUp]:
    """Add newly stored bounces (a pull's page) to their contacts' follow-ups, opening those the
    rules call for; {contact id: the follow-up its bounces went to}. A handful of statements
    for the whole page. The caller holds the contacts' locks (the pull takes them before it
    builds the rows), so a contact read here as not erased stays so until the commit."""
    by_contact: dict[int, list[Bounce]] = {}
    for bounce in sorted(bounces, key=lambda b: (b.bounced_at, b.pk)):
        if bounce.contact_id is not None and not bounce.contact.is_erased:
            by_contact.setdefault(bounce.contact_id, []).append(bounce)
    if not by_contact:
        return {}
    with transaction.atomic():
        current = {
            f.contact_id: f
            for f in FollowUp.objects.select_for_update()
            .unresolved()
            .filter(contact_id__in=by_contact)
            .order_by("pk")
        }
        to_open: dict[int, list[Bounce]] = {}
        added: dict[int, list[Bounce]] = {}
        earliest = min(b.bounced_at for bs in by_contact.values() for b in bs)
        soft_pool = _loose_soft_bounces_of(
            [c for c in by_contact if c not in current], since=earliest
        )
        for contact_id, contact_bounces in by_contact.items():
            if contact_id in current:
                added[contact_id] = contact_bounces
                continue
            opening = _opening_bounces(contact_bounces, soft_pool.get(contact_id, []))
            if opening is not None:
                to_open[contact_id] = opening
        opened = _open_many(to_open, contacts={c: b[0].contact for c, b in by_contact.items()})
        for contact_id, contact_bounces in added.items():
            _add_bounces(current[contact_id], contact_bounces)
    return {**{c: current[c] for c in added}, **opened}


def open_followup(contact: Contact, *, bounces: list[Bounce]) -> FollowUp:
    """A new follow-up holding `bounces`; publishes `followup_opened` on the feed."""
    return _open_many({contact.pk: bounces}, contacts={contact.pk: contact})[contact.pk]


def _opening_bounces(new: list[Bounce], loose_soft: list[Bounce]) -> list[Bounce] | None:
    """The bounces a new follow-up opens with, or None when the rules open none yet.

    `new` are the contact's new bounces in date order, `loose_soft` its soft bounces no
    follow-up holds (they include the new soft ones)."""
    if any(b.kind == BounceKind.HARD for b in new):
        return new
    period = timedelta(days=settings.BOUNCES_SOFT_DAYS)
    for bounce in new:
        window = [
            b for b in loose_soft if bounce.bounced_at - period < b.bounced_at <= bounce.bounced_at
        ]
        if len(window) >= settings.BOUNCES_SOFT_THRESHOLD:
            later = [b for b in new if b.bounced_at > bounce.bounced_at]
            return window + later
    return None


def _open_many(
    to_open: dict[int, list[Bounce]], *, contacts: dict[int, Contact]
) -> dict[int, FollowUp]:
    if not to_open:
        return {}
    users = possible_owners()
    now = timezone.now()
    due = add_working_days(now, settings.BOUNCES_SERVICE_LEVEL_DAYS)
    built: dict[int, FollowUp] = {}
    matches = {}
    for contact_id, bounces in to_open.items():
        contact = contacts[contact_id]
        match = matches[contact_id] = find_owner(contact, users=users)
        latest = max(bounces, key=lambda b: b.bounced_at)
        built[contact_id] = FollowUp(
            contact=contact, owner=match.owner, owner_unmatched=match.unmatched,
            owner_source=match.source, kind=_kind_of(bounces),
            email=latest.email or contact.email, opened_at=now, due_at=due,
            bounce_count=len(bounces), last_bounce_at=latest.bounced_at,
        )  # fmt: skip
    try:
        with transaction.atomic():
            FollowUp.objects.bulk_create(built.values())
    except IntegrityError:
        # A pull running at the same time opened one of them first: one at a time, then.
        return _open_one_by_one(to_open, contacts=contacts)
    if any(f.pk is None for f in built.values()):  # a backend that returns no ids
        for contact_id, f in built.items():
            f.pk = FollowUp.objects.unresolved().get(contact_id=contact_id).pk
    attached = []
    for contact_id, bounces in to_open.items():
        for b in bounces:
            b.followup = built[contact_id]
            attached.append(b)
    Bounce.objects.bulk_update(attached, ["followup"], batch_size=500)
    steps = [
        FollowUpStep(followup=f, at=now, action=StepAction.OPENED,
                     text=_opened_text(f, matches[c], len(to_open[c])))
        for c, f in built.items()
    ]  # fmt: skip
    FollowUpStep.objects.bulk_create(steps)
    publish_changes([
        Change(kind=ChangeKind.FOLLOWUP_OPENED, external_id=contacts[c].external_id,
               payload=opened_payload(f))
        for c, f in built.items()
    ])  # fmt: skip
    mailed = [f.pk for f in built.values() if f.owner is not None and f.owner.email]
    if mailed:
        # On the queue: mail the pull itself sent would wait for the mail server, page by page.
        transaction.on_commit(
            lambda: async_task(tasks.mail_new_followups, mailed, group="bounce-mail")
        )
    return built


def _open_one_by_one(
    to_open: dict[int, list[Bounce]], *, contacts: dict[int, Contact]
) -> dict[int, FollowUp]:
    opened = {}
    for contact_id, bounces in to_open.items():
        current = FollowUp.objects.select_for_update().unresolved().filter(contact_id=contact_id)
        existing = current.first()
        if existing is not None:
            opened[contact_id] = _add_bounces(existing, bounces)
        else:
            opened.update(_open_many({contact_id: bounces}, contacts=contacts))
    return opened


def _opened_text(followup: FollowUp, match, count: int) -> str:
    owner = display_name(match.owner) if match.owner else "nobody"
    why = "a hard bounce" if followup.kind == BounceKind.HARD else f"{count} soft bounces"
    text = f"Opened after {why}; owner {owner}."
    if match.unmatched:
        text += f" The account manager “{match.source or '(empty)'}” matched no user."
    return text


def settle_after_push(contact: Contact, outcome: Any) -> None:
    """The push settled an outcome for `contact` (`ok`, `transient`, `skipped`, `answer`)."""
    if outcome.transient or (outcome.ok and outcome.skipped):
        return
    # Locked: a person resolving it at the same moment waits, and is then told it is done.
    followup = (
        FollowUp.objects.select_for_update().unresolved().filter(contact_id=contact.pk).first()
    )
    if followup is None:
        return
    address = (contact.email or "").casefold()
    if followup.pending_email:
        _settle_correction(followup, pushed=contact, outcome=outcome)
    elif outcome.ok and followup.email and address and address != followup.email.casefold():
        data = {
            "email": contact.email, "previous_email": followup.email,
            "corrected_in": "linked system",
        }  # fmt: skip
        resolve(followup, resolution=Resolution.EMAIL_CORRECTED, data=data, by=None)


def _settle_correction(followup: FollowUp, *, pushed: Contact, outcome: Any) -> None:
    """A push answered while a corrected address waits. Only the push that carried it closes
    (accepted) or reopens (refused) the follow-up; a push of an older state, answered after
    the correction was written, says nothing about it: the correction is still to be pushed."""
    address = (pushed.email or "").casefold()
    if address == followup.pending_email.casefold():
        if outcome.ok:
            data = {
                "email": pushed.email, "previous_email": followup.email, "corrected_in": "inbox",
            }  # fmt: skip
            resolve(
                followup, resolution=Resolution.EMAIL_CORRECTED, data=data,
                by=_corrected_by(followup),
            )  # fmt: skip
        else:
            reopen(followup, reason=outcome.answer)
        return
    if not _replaced_correction(pushed, followup):
        return
    # The linked system sent another address after the correction, and this push sent it: the
    # correction never reaches Spotler, so waiting for it would never end.
    if not outcome.ok:
        reopen(
            followup,
            text=f"The linked system sent {pushed.email} before {followup.pending_email} "
            f"reached Spotler, and Spotler refused it: {outcome.answer}",
        )
    elif address != followup.email.casefold():
        data = {
            "email": pushed.email, "previous_email": followup.email,
            "corrected_in": "linked system",
        }  # fmt: skip
        resolve(followup, resolution=Resolution.EMAIL_CORRECTED, data=data, by=None)
    else:
        reopen(
            followup,
            text=f"The linked system sent {pushed.email} again before "
            f"{followup.pending_email} reached Spotler; Spotler keeps {pushed.email}.",
        )


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


def reopen(followup: FollowUp, *, reason: str = "", text: str = "") -> None:
    """The corrected address will not reach Spotler (Spotler refused it, with `reason`, or the
    history says why in `text`): the follow-up needs work again. It goes back to *in progress*
    when someone had started it (correcting an address does), else to *open*; the feed hears
    nothing, since nothing was resolved."""
    text = text or f"Spotler refused {followup.pending_email}: {reason}"
    started = followup.started_at is not None
    followup.state = FollowUpState.IN_PROGRESS if started else FollowUpState.OPEN
    followup.pending_email = ""
    followup.save(update_fields=["state", "pending_email"])
    back = "in progress" if started else "open"
    FollowUpStep.objects.create(
        followup=followup, action=StepAction.REOPENED,
        text=f"{text.rstrip('.')}. Back to {back}: the follow-up needs another resolution.",
    )  # fmt: skip


def _replaced_correction(pushed: Contact, followup: FollowUp) -> bool:
    """Whether the push sent the ledger's current address and that is no longer the correction
    (a push of an older state, answered after the correction was written, says nothing)."""
    current = Contact.objects.filter(pk=pushed.pk).values_list("email", flat=True).first() or ""
    return (
        current.casefold() == (pushed.email or "").casefold()
        and current.casefold() != followup.pending_email.casefold()
    )


def forget_contact(contact: Contact) -> None:
    """The contact was erased: its follow-ups (names, addresses, notes) go with its data; its
    bounces stay, counted as erased, without what named the person (the hash of the externalId
    stays, as on the contact's tombstone, so a later reading of a bounce is not counted twice)."""
    FollowUp.objects.filter(contact=contact).delete()
    Bounce.objects.filter(contact=contact).update(
        contact=None, external_id="", email="", ledger_state=LedgerState.ERASED
    )


def add_working_days(start: datetime, days: int) -> datetime:
    """`start` plus `days` working days (Monday to Friday), at the same time of day on the
    office clock (TIME_ZONE): counted in local time, so a due date across a clock change is
    not an hour early or late. A time the spring change skips moves on by the hour skipped."""
    moment = timezone.localtime(start)
    added = 0
    while added < days:
        # With a zoneinfo time zone this is wall-clock arithmetic: the offset follows the date.
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            added += 1
    return moment.astimezone(UTC)


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


def _loose_soft_bounces_of(contact_ids: list[int], *, since: datetime) -> dict[int, list[Bounce]]:
    """Per contact, its soft bounces no follow-up holds, from one period before `since` (the
    earliest new bounce) on; `_opening_bounces` applies each bounce's own window."""
    if not contact_ids:
        return {}
    since -= timedelta(days=settings.BOUNCES_SOFT_DAYS)
    pool: dict[int, list[Bounce]] = {}
    rows = Bounce.objects.filter(
        contact_id__in=contact_ids, kind=BounceKind.SOFT, followup__isnull=True,
        bounced_at__gt=since,
    ).order_by("bounced_at", "pk")  # fmt: skip
    for bounce in rows:
        pool.setdefault(bounce.contact_id, []).append(bounce)
    return pool


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
