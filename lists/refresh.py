"""Refreshing a list: its selection made again (lists/selection.py `reselect`).

Spotler can only add contacts to a temporary list (spotler-api.md §10: create, add, delete; no
removal), so a refresh that only finds new contacts adds them to the list, and one where
contacts must leave replaces the list: a new list with the new selection, after which the old
one is deleted. While both exist they take two slots of the budget, so a replacement needs one
free slot; the old list is kept until the new one is complete, so a mailing always has one.

Spotler refuses a second list of the same name, so the replacement is named after the old one
with when it was refreshed: "Guests (refreshed 2026-12-02 14:05)"; refreshing that one again
gives "Guests (refreshed 2026-12-09 10:30)", not a growing tail of suffixes.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

import spotler
from audit import trail
from lists import budget, lifecycle, tasks
from lists.models import TempList, TempListState
from lists.selection import reselect

REFRESHED_SUFFIX = re.compile(r" \(refreshed \d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?\)$")


class RefreshRefused(Exception):
    """The list cannot be refreshed now; the message says why."""


class ReplacementNeedsSlot(budget.BudgetExhausted):
    """Contacts must leave, so the list must be replaced, and no slot of the budget is free."""


@dataclass(frozen=True)
class RefreshOutcome:
    refreshed: TempList  # the list itself, or its replacement
    added: int
    leaving: int

    @property
    def replaced(self) -> bool:
        return self.leaving > 0

    def describe(self, old_name: str) -> str:
        """The outcome in a Marketer's words."""
        if self.replaced:
            new = self.refreshed
            return (
                f"{_contacts(self.leaving)} must leave “{old_name}”, and Spotler can only add to "
                f"a list: it is replaced by “{new.name}” ({_contacts(new.total)}), and the old "
                "list is deleted once the new one is complete. Choose the new list in mailings "
                "that used the old one."
            )
        if self.added:
            return f"{_contacts(self.added)} added to “{old_name}”; they are being sent."
        return f"No change: “{old_name}” holds its selection's {_contacts(self.refreshed.total)}."


def refresh_list(
    *,
    list_pk: int,
    created_by: AbstractBaseUser | None = None,
    created_via: str = "dashboard",
    client: spotler.SpotlerClient | None = None,
    actor: trail.Actor = None,
) -> RefreshOutcome:
    """Make the list's selection again: add the new contacts, or replace the list when
    contacts must leave. RefreshRefused when the list is not complete or is being replaced;
    ReplacementNeedsSlot when a replacement is needed and the budget is full (nothing is
    changed then); budget.ListRefused or spotler.SpotlerError when Spotler refuses or cannot
    be asked about the new list. `actor`: who the audit trail names when not `created_by`."""
    actor = actor or created_by
    found = TempList.objects.get(pk=list_pk)
    refusal = refresh_refusal(found)
    if refusal:
        raise RefreshRefused(refusal)
    selection, unknown = reselect(found)
    chosen = set(selection.ids)
    current = set(found.contact_ids)
    leaving = sum(1 for external_id in found.contact_ids if external_id not in chosen)
    if leaving:
        made = _replace(found, selection, unknown, created_by, created_via, client, actor)
        _record(
            found, actor=actor, after={"contacts": len(made.contact_ids), "replaced_by": made.name}
        )
        return RefreshOutcome(refreshed=made, added=0, leaving=leaving)
    new = [external_id for external_id in selection.ids if external_id not in current]
    _add(found, new, selection.left_out, unknown)
    _record(found, actor=actor, after={"contacts": len(found.contact_ids) + len(new)})
    found.refresh_from_db()
    return RefreshOutcome(refreshed=found, added=len(new), leaving=0)


def _record(found: TempList, *, actor: trail.Actor, after: dict) -> None:
    trail.record(
        actor=actor, action="refreshed", object_type="temporary list", obj=found,
        object_label=found.name, before={"contacts": len(found.contact_ids)}, after=after,
    )  # fmt: skip


def refresh_refusal(found: TempList) -> str:
    """Why the list cannot be refreshed now ("" when it can)."""
    replacement = getattr(found, "replaced_by", None)
    if replacement is not None and replacement.state != TempListState.DELETED:
        return (
            f"“{found.name}” is being replaced by “{replacement.name}” and is deleted once that "
            "one is complete; refresh the new list instead."
        )
    if found.state != TempListState.COMPLETE:
        return (
            f"Only a complete list can be refreshed; “{found.name}” is "
            f"{found.get_state_display().lower()}. A list being sent is refreshed once it is "
            "complete (a failed one is resumed first); a deleted one cannot come back."
        )
    return ""


def _add(found: TempList, new: list[str], left_out: dict, unknown: list[str]) -> None:
    """Append the new contacts and queue their sending (from the checkpoint, which is the old
    total: the send resumes there)."""
    with transaction.atomic():
        locked = TempList.objects.select_for_update().get(pk=found.pk)
        if locked.state != TempListState.COMPLETE or locked.contact_ids != found.contact_ids:
            raise RefreshRefused(
                f"“{found.name}” changed while it was refreshed "
                f"({locked.get_state_display().lower()}); look at it and refresh again."
            )
        locked.contact_ids = [*locked.contact_ids, *new]
        locked.left_out = left_out
        locked.unknown_ids = unknown
        locked.refreshed_at = timezone.now()
        fields = ["contact_ids", "left_out", "unknown_ids", "refreshed_at", "updated_at"]
        if new:
            locked.state = TempListState.DRAFT
            locked.finished_at = None
            fields += ["state", "finished_at"]
            transaction.on_commit(lambda: tasks.queue_send(found.pk))
        locked.save(update_fields=fields)


def _replace(found, selection, unknown, created_by, created_via, client, actor) -> TempList:
    now = timezone.now()
    try:
        with transaction.atomic():
            # A replacement that was deleted before it completed no longer stands for this
            # list: the link is free for the new one.
            TempList.objects.filter(replaces=found, state=TempListState.DELETED).update(
                replaces=None
            )
            return budget.create_list(
                name=replacement_name(found.name, now=now),
                contact_ids=selection.ids,
                left_out=selection.left_out,
                unknown_ids=unknown,
                filters=found.filters,
                named_ids=found.named_ids,
                replaces=found,
                created_by=created_by,
                created_via=created_via,
                expires_at=found.expires_at
                if found.expires_at and found.expires_at > now
                else None,
                client=client,
                actor=actor,
            )
    except budget.BudgetExhausted as full:
        raise ReplacementNeedsSlot(
            f"{full} Refreshing “{found.name}” replaces it (contacts must leave, and Spotler "
            "can only add to a list), which needs one free slot while the old list still "
            "exists; it is deleted once the new one is complete."
        ) from full
    except (IntegrityError, budget.ListRefused) as refused:
        # Someone else's refresh of the same list made its replacement a moment ago (its name,
        # or the link to this list, is taken): say so, not "choose another name".
        if isinstance(refused, IntegrityError) or _being_replaced(found):
            raise RefreshRefused(
                f"“{found.name}” is being replaced already (someone refreshed it a moment ago); "
                "look at it again."
            ) from None
        raise


def _being_replaced(found: TempList) -> bool:
    return TempList.objects.filter(replaces=found).exclude(state=TempListState.DELETED).exists()


def replacement_name(name: str, *, now: datetime) -> str:
    """The old name without an earlier "(refreshed …)", with this refresh's moment (local
    time); to the second when a list of that name exists already (two refreshes in a minute)."""
    base = REFRESHED_SUFFIX.sub("", name)
    local = timezone.localtime(now)
    for moment in (f"{local:%Y-%m-%d %H:%M}", f"{local:%Y-%m-%d %H:%M:%S}"):
        suffix = f" (refreshed {moment})"
        candidate = base[: budget.MAX_NAME_LENGTH - len(suffix)].rstrip() + suffix
        if not TempList.objects.filter(name=candidate).exclude(state=TempListState.DELETED):
            break
    return candidate


def retire_replaced(list_pk: int) -> str:
    """Once a replacement is complete, delete the list it replaces (queued; "in use" is
    retried by the schedule). Called after each send; the schedule deletes any missed
    (lists/lifecycle.py)."""
    done = TempList.objects.filter(
        pk=list_pk, state=TempListState.COMPLETE, replaces__isnull=False
    ).first()
    if done is None or not lifecycle.request_delete(list_pk=done.replaces_id):
        return ""
    return f"; the list it replaces ({done.replaces_id}) is being deleted"


def _contacts(count: int) -> str:
    return f"{count:,} contact" + ("" if count == 1 else "s")
