"""What came back from Spotler about a contact, as sentences for the contact page: its changes
feed entries and the pulls on its sync timeline, with permissions called by their names.

The feed itself (what the linked system reads) keeps its JSON; only the page reads it out.
"""

import re

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format

from bounces.models import BounceKind, Resolution
from contacts.models import Change, ChangeKind
from contacts.standing import Permission, permission_name
from sync.models import SyncEvent, SyncEventKind


def change_sentence(change: Change, *, permissions: dict[int, Permission]) -> str:
    """One feed entry in words; an entry of a kind not known here reads as its kind."""
    payload = change.payload or {}
    kind = change.kind
    if kind == ChangeKind.PERMISSION_CHANGED:
        return permission_sentence(payload, permissions=permissions)
    if kind == ChangeKind.PROFILE_CHANGED:
        return profile_sentence(payload)
    if kind == ChangeKind.BOUNCED:
        how = _label(BounceKind, payload.get("type"), "bounce").lower()
        when = _moment(payload.get("bounced_at"))
        return f"Mail to {payload.get('email') or 'the contact'} bounced ({how}){when}."
    if kind == ChangeKind.INACTIVATED:
        return "The contact was made inactive (blacklisted) in Spotler: it gets no mail at all."
    if kind == ChangeKind.FOLLOWUP_OPENED:
        owner = payload.get("owner") or "no one yet (no account manager matched)"
        due = _moment(payload.get("due_at"), prefix=", due ")
        return f"Bounce follow-up #{payload.get('followup')} opened, for {owner}{due}."
    if kind == ChangeKind.FOLLOWUP_RESOLVED:
        how = _label(Resolution, payload.get("resolution"), "resolved").lower()
        by = payload.get("resolved_by") or "someone"
        return f"Bounce follow-up #{payload.get('followup')} closed by {by}: {how}."
    return change.get_kind_display()


def permission_sentence(payload: dict, *, permissions: dict[int, Permission]) -> str:
    bit = int(payload.get("bit", 0))
    name = permission_name(bit, permissions)
    when = _moment(payload.get("changed_at"))
    field = payload.get("field")
    told = (
        f" The shop is told {field} = {'yes' if payload.get('enabled') else 'no'}." if field else ""
    )
    if payload.get("enabled"):
        return f"The recipient subscribed to {name} in Spotler{when}.{told}"
    return f"The recipient unsubscribed from {name} in Spotler{when}.{told}"


def profile_sentence(payload: dict) -> str:
    prop = payload.get("property") or payload.get("field") or "A property"
    value = payload.get("value")
    shown = "nothing" if value in (None, "") else f"“{value}”"
    when = _moment(payload.get("changed_at"))
    sentence = f"{prop} was changed in Spotler to {shown}{when}."
    if payload.get("owned_by_linked_system"):
        return f"{sentence} The shop owns {payload.get('field')}: reported only, not taken over."
    if payload.get("field"):
        return f"{sentence} The shop is told {payload['field']} = {shown}."
    return sentence


def event_sentence(event: SyncEvent, *, permissions: dict[int, Permission]) -> str:
    """A timeline line in words: a pull of profile or permission changes is read out from what
    it received; any other call keeps its answer, already written as a sentence."""
    received = event.payload or {}
    if event.kind != SyncEventKind.PULL or "bounce" in received:
        return name_permissions(event.answer, permissions=permissions)
    lines = [
        profile_sentence({"property": prop, "value": value})
        for prop, value in (received.get("properties") or {}).items()
    ]
    for bit, enabled in (received.get("permissions") or {}).items():
        lines.append(permission_sentence({"bit": bit, "enabled": enabled}, permissions=permissions))
    return " ".join(lines) or event.answer


PERMISSION_BIT = re.compile(r"\bpermission (\d+)\b")


def name_permissions(text: str, *, permissions: dict[int, Permission]) -> str:
    """'permission 1 kept off' (the push's consent rule) -> 'Newsletter (permission 1) kept
    off', for the bits whose name is known."""

    def named(match: re.Match) -> str:
        said, known = match.group(0), permissions.get(int(match.group(1)))
        return f"{known.name} ({said})" if known and known.name != said else said

    return PERMISSION_BIT.sub(named, text)


def _label(choices, value, default: str) -> str:
    try:
        return choices(value).label
    except ValueError:
        return default


def _moment(text: str | None, *, prefix: str = " on ") -> str:
    moment = parse_datetime(text) if isinstance(text, str) else None
    if moment is None:
        return ""
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return f"{prefix}{date_format(timezone.localtime(moment), 'j M Y H:i')}"
