"""Pulling what changed in Spotler: profile edits and permission changes (unsubscribes).

Results go to the contact's `SpotlerState` (the shop's own fields are left as the shop sent
them), to `SpotlerConsent` (which the push's consent rule reads), to the changes feed for the
linked system, and to the contact's timeline. Windows overlap; each change is applied once
(by Spotler's `lastChanged`), and echoes of our own pushes are recognised and ignored.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

import spotler
from contacts.feed import publish_change
from contacts.models import ChangeKind, Contact
from mapping.render import EMAIL_PROPERTY, PERMISSIONS_PROPERTY, Conversion
from mapping.versions import current_version
from sync.models import (
    PullWatermark,
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

PAGE_SIZE = 100
FIRST_WINDOW = timedelta(days=1)  # how far back the very first scheduled pull looks


@dataclass(frozen=True)
class BackRow:
    """A mapping row that brings a Spotler property back to the linked system."""

    property: str
    source_field: str
    bit: int | None  # for permissions


def pull_updates(
    *,
    since: datetime,
    until: datetime,
    client: spotler.SpotlerClient | None = None,
    trigger: str = SyncRunTrigger.SCHEDULE,
    run: SyncRun | None = None,
) -> SyncRun:
    """Read `contact/updates/list` over [since, until] and apply every change once."""
    from sync.push import spotler_client

    now = timezone.now()
    run = run or SyncRun.objects.create(kind=SyncRunKind.PULL_UPDATES, trigger=trigger)
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncRunStatus.RUNNING, started_at=now, heartbeat_at=now,
        window_start=since, window_end=until,
    )  # fmt: skip
    run.refresh_from_db()
    client = client or spotler_client()
    version = current_version()
    rows = back_rows(version.rows)
    try:
        after = run.checkpoint.get("after")
        for page in client.iter_updated_contact_pages(
            since=since, until=until, page_size=PAGE_SIZE, after=after
        ):
            for item in page.items:
                counted = apply_update(
                    item, rows=rows, email_owned=version.email_owned_by_linked_system, run=run
                )
                setattr(run, counted, getattr(run, counted) + 1)
                run.done += 1
            run.checkpoint = {"after": page.after} if page.after is not None else {}
            run.heartbeat_at = timezone.now()
            run.save(
                update_fields=["done", "sent", "skipped", "failed", "checkpoint", "heartbeat_at"]
            )
    except spotler.SpotlerError as error:
        run.status, run.error = SyncRunStatus.FAILED, str(error)
    else:
        run.status = SyncRunStatus.SUCCEEDED
    run.finished_at = timezone.now()
    run.save()
    return run


def pull_updates_on_schedule(*, client: spotler.SpotlerClient | None = None) -> SyncRun:
    """The scheduled pull: from a little before the last watermark up to now."""
    now = timezone.now()
    overlap = timedelta(minutes=settings.SYNC_PULL_OVERLAP_MINUTES)
    mark = PullWatermark.objects.filter(kind=SyncRunKind.PULL_UPDATES).first()
    since = (mark.until - overlap) if mark else now - FIRST_WINDOW
    run = pull_updates(since=since, until=now, client=client)
    if run.status == SyncRunStatus.SUCCEEDED:
        PullWatermark.objects.update_or_create(
            kind=SyncRunKind.PULL_UPDATES, defaults={"until": now}
        )
    return run


def back_rows(rows: list[dict]) -> list[BackRow]:
    found = []
    for row in rows:
        if row.get("direction") not in ("from_spotler", "both") or not row.get("source_fields"):
            continue
        bit = None
        if row.get("conversion") == Conversion.PERMISSION:
            bit = int(row["options"]["bit"])
        found.append(BackRow(row["property"], row["source_fields"][0], bit))
    return found


def apply_update(
    item: spotler.Contact, *, rows: list[BackRow], email_owned: bool, run: SyncRun
) -> str:
    """Apply one updated contact; returns which run counter it adds to (sent/skipped)."""
    contact = (
        Contact.objects.filter(external_id=item.external_id).first() if item.external_id else None
    )
    if contact is None:
        _record_unknown(item.external_id or "(none)")
        return "skipped"
    changed_at = item.last_changed or timezone.now()
    with transaction.atomic():
        state = SpotlerState.objects.select_for_update().filter(contact=contact).first()
        if state is not None and state.last_changed >= changed_at:
            return "skipped"  # this change (or a later one) was applied already
        pushed = _last_pushed(contact)
        changes = _profile_changes(item, rows=rows, state=state, pushed=pushed)
        permission_changes = _permission_changes(item, rows=rows, state=state, pushed=pushed)
        _save_state(contact, item, state=state, changed_at=changed_at)
        for bit, enabled in permission_changes:
            SpotlerConsent.objects.update_or_create(
                contact=contact, bit=bit, defaults={"enabled": enabled, "changed_at": changed_at}
            )
        published = _publish(contact, changes, permission_changes, rows=rows,
                             email_owned=email_owned, changed_at=changed_at)  # fmt: skip
        if published:
            received = {"properties": changes, "permissions": dict(permission_changes)}
            SyncEvent.objects.create(
                contact=contact, run=run, kind=SyncEventKind.PULL, ok=True,
                payload=received, answer="; ".join(published),
            )  # fmt: skip
    return "sent" if published else "skipped"


def _profile_changes(item, *, rows, state, pushed) -> dict[str, Any]:
    """Back-mapped properties Spotler changed: not what it said before, not our own echo."""
    before = state.properties if state else {}
    sent = pushed.get("properties", {})
    changes = {}
    for row in rows:
        value = item.properties.get(row.property)
        if (
            row.bit is None
            and value is not None
            and value not in (before.get(row.property), sent.get(row.property))
        ):
            changes[row.property] = value
    return changes


def _permission_changes(item, *, rows, state, pushed) -> list[tuple[int, bool]]:
    """Permission bits Spotler switched: not what it said before, not the echo of our push."""
    before = {int(k): v for k, v in (state.permissions if state else {}).items()}
    sent = {
        int(p["bit"]): p["enabled"]
        for p in pushed.get("properties", {}).get(PERMISSIONS_PROPERTY, [])
    }
    changes = []
    for row in rows:
        if row.bit is None or row.bit not in item.permissions:
            continue
        enabled = item.permissions[row.bit]
        if enabled not in (before.get(row.bit), sent.get(row.bit)):
            changes.append((row.bit, enabled))
    return changes


def _publish(contact, changes, permission_changes, *, rows, email_owned, changed_at) -> list[str]:
    lines = []
    by_property = {r.property: r for r in rows if r.bit is None}
    by_bit = {r.bit: r for r in rows if r.bit is not None}
    for prop, value in changes.items():
        owned = prop == EMAIL_PROPERTY and email_owned
        payload = {
            "field": by_property[prop].source_field, "property": prop, "value": value,
            "changed_at": changed_at.isoformat(), "owned_by_linked_system": owned,
        }  # fmt: skip
        publish_change(
            kind=ChangeKind.PROFILE_CHANGED, external_id=contact.external_id, payload=payload
        )
        lines.append(
            f"{prop} changed in Spotler" + (" (reported only: the shop owns it)" if owned else "")
        )
    for bit, enabled in permission_changes:
        payload = {
            "field": by_bit[bit].source_field, "bit": bit, "enabled": enabled,
            "changed_at": changed_at.isoformat(),
        }  # fmt: skip
        publish_change(
            kind=ChangeKind.PERMISSION_CHANGED, external_id=contact.external_id, payload=payload
        )
        lines.append(f"permission {bit} switched {'on' if enabled else 'off'} in Spotler")
    return lines


def _save_state(contact, item, *, state, changed_at) -> None:
    values = {
        "last_changed": changed_at,
        "properties": {k: v for k, v in item.properties.items() if _jsonable(v)},
        "permissions": {str(k): v for k, v in item.permissions.items()},
    }
    if state is None:
        SpotlerState.objects.create(contact=contact, **values)
    else:
        SpotlerState.objects.filter(pk=state.pk).update(**values)


def _last_pushed(contact: Contact) -> dict:
    event = (
        SyncEvent.objects.filter(contact=contact, kind=SyncEventKind.PUSH, ok=True)
        .order_by("-at", "-id")
        .values_list("payload", flat=True)
        .first()
    )
    return event or {}


def _record_unknown(external_id: str) -> None:
    updated = UnknownContact.objects.filter(external_id=external_id).update(
        times_seen=F("times_seen") + 1
    )
    if not updated:
        UnknownContact.objects.get_or_create(
            external_id=external_id, defaults={"source": SyncRunKind.PULL_UPDATES}
        )


def _jsonable(value: object) -> bool:
    return isinstance(value, str | int | float | bool | list | dict) or value is None
