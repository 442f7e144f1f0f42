"""Pulling what changed in Spotler: profile edits and permission changes (unsubscribes).

Results go to the contact's `SpotlerState` (the shop's own fields are left as the shop sent
them), to `SpotlerConsent` (which the push's consent rule reads), to the changes feed for the
linked system, and to the contact's timeline. Windows overlap; each change is applied once
(by Spotler's `lastChanged`), and echoes of our own pushes are recognised and ignored.

A page is applied in a handful of statements, whatever its size: its contacts with their last
pushed payloads, their Spotler states (locked), then bulk writes, the feed last (its lock is
held until the commit). Two pulls applying the same new contact at once: the second one's
INSERT of its state fails on the unique key after the first commits, and its page is applied
again against what the first wrote, so nothing is published twice.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import JSONField, OuterRef, Subquery
from django.utils import timezone

import spotler
from contacts.feed import publish_changes
from contacts.models import Change, ChangeKind, Contact
from mapping.render import EMAIL_PROPERTY, PERMISSIONS_PROPERTY, Row
from mapping.rows import row_from_json
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
from sync.paged_pull import pull_pages
from sync.spotler_connection import spotler_client
from sync.unknown_contacts import record_unknown

# Spotler documents no maximum (spotler-api.md §2.7; the sandbox allows 1,000). At the rate limit
# (10 calls/s) pages of 100 alone would make 50,000 updated contacts take 50 s.
PAGE_SIZE = 500
# A page whose new states collided with a concurrent pull is applied again; more than a few
# collisions in a row would be a bug, not a race.
ATTEMPTS = 3


def pull_updates(
    *,
    since: datetime,
    until: datetime,
    client: spotler.SpotlerClient | None = None,
    trigger: str = SyncRunTrigger.SCHEDULE,
    run: SyncRun | None = None,
) -> SyncRun:
    """Read `contact/updates/list` over [since, until] and apply every change once.

    Counts on the run: done = updated contacts read, sent = those with changes to report,
    skipped = the rest (nothing new, our own echo, or a contact the ledger does not know).
    """
    client = client or spotler_client()
    version = current_version()
    rows = back_rows(version.rows)

    def read_pages(after: str | None) -> Iterator[spotler.Page]:
        return client.iter_updated_contact_pages(
            since=since, until=until, page_size=PAGE_SIZE, after=after
        )

    def apply_page(items: list[spotler.Contact], run: SyncRun) -> Counter:
        email_owned = version.email_owned_by_linked_system
        return Counter(apply_updates(items, rows=rows, email_owned=email_owned, run=run))

    return pull_pages(
        run, kind=SyncRunKind.PULL_UPDATES, trigger=trigger, since=since, until=until,
        read_pages=read_pages, apply_page=apply_page,
    )  # fmt: skip


def first_window() -> timedelta:
    """How far back the very first pull looks. Far: the first backfill pulls first, and every
    unsubscribe Spotler already holds for our contacts must be known before it sends."""
    return timedelta(days=settings.SYNC_FIRST_PULL_DAYS)


def pull_updates_on_schedule(
    *,
    client: spotler.SpotlerClient | None = None,
    trigger: str = SyncRunTrigger.SCHEDULE,
    requested_by: AbstractBaseUser | None = None,
) -> SyncRun:
    """The scheduled pull: from a little before the last watermark up to now.

    "Now" is rounded up to the next whole second: the client sends whole seconds and the end
    may be exclusive, and a backfill pulls first to see every change made until this moment.
    A backfill's pull carries the backfill's `trigger` and `requested_by`: it is the operator's
    doing, and the health page judges the scheduled pull by scheduled pulls only.
    """
    now = timezone.now().replace(microsecond=0) + timedelta(seconds=1)
    overlap = timedelta(minutes=settings.SYNC_PULL_OVERLAP_MINUTES)
    mark = PullWatermark.objects.filter(kind=SyncRunKind.PULL_UPDATES).first()
    since = (mark.until - overlap) if mark else now - first_window()
    run = SyncRun.objects.create(
        kind=SyncRunKind.PULL_UPDATES, trigger=trigger, requested_by=requested_by
    )
    run = pull_updates(since=since, until=now, client=client, run=run)
    if run.status == SyncRunStatus.SUCCEEDED:
        PullWatermark.objects.update_or_create(
            kind=SyncRunKind.PULL_UPDATES, defaults={"until": now}
        )
    return run


def back_rows(rows: list[dict]) -> list[Row]:
    """The saved rows that bring a Spotler property back to a field of the linked system."""
    parsed = [row_from_json(row) for row in rows]
    return [row for row in parsed if row.receives and row.source_fields]


def apply_updates(
    items: list[spotler.Contact], *, rows: list[Row], email_owned: bool, run: SyncRun | None
) -> list[str]:
    """Apply a page of updated contacts; per item, the run counter it adds to (sent/skipped).

    The same contact twice in a page: the later entry is applied after the earlier one, as
    if it came on the next page.
    """
    counted: list[str] = []
    for part in _parts_without_repeats(items):
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    counted += _apply_part(part, rows=rows, email_owned=email_owned, run=run)
                break
            except IntegrityError:
                if attempt == ATTEMPTS:
                    raise
    return counted


def take_in(
    item: spotler.Contact,
    *,
    contact_id: int,
    properties: list[str],
    bits: list[int],
    run: SyncRun | None = None,
) -> list[str]:
    """Take these properties and permission bits of Spotler's copy into the ledger as the pull
    of updates does (Spotler's state, its consents, the changes feed, the timeline), even when
    a pull took them before: the reconciliation's "pull" fix, for values Spotler holds that the
    linked system has not taken in. The lines published, as the pull words them."""
    version = current_version()
    rows = back_rows(version.rows)
    receiving = {r.spotler_property for r in rows if r.bit is None}
    changes = {p: item.properties[p] for p in properties if p in receiving and p in item.properties}
    receiving_bits = {r.bit for r in rows if r.bit is not None}
    permission_changes = [(b, item.permissions[b]) for b in bits if b in receiving_bits]
    changed_at = item.last_changed or timezone.now()
    with transaction.atomic():
        state = SpotlerState.objects.select_for_update().filter(contact_id=contact_id).first()
        known = state.properties if state else {}
        known_bits = {int(k): v for k, v in (state.permissions if state else {}).items()}
        merged = spotler.Contact(
            external_id=item.external_id,
            properties={**known, **changes},
            permissions={**known_bits, **dict(permission_changes)},
        )
        writes = _Writes()
        at = max(changed_at, state.last_changed) if state else changed_at
        _collect_state(contact_id, merged, state=state, changed_at=at, writes=writes)
        published = _collect_changes(
            contact_id, item.external_id, changes, permission_changes, rows=rows,
            email_owned=version.email_owned_by_linked_system, changed_at=changed_at, run=run,
            writes=writes,
        )  # fmt: skip
        _write(writes)
    return published


@dataclass
class _Writes:
    """What applying a part of a page writes, collected to be written in bulk."""

    new_states: list[SpotlerState] = field(default_factory=list)
    states: list[SpotlerState] = field(default_factory=list)
    consents: list[SpotlerConsent] = field(default_factory=list)
    events: list[SyncEvent] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    # Spotler's permissions of unknown contacts: {external id: ({bit: on}, lastChanged)}
    unknown_permissions: dict[str, tuple[dict, datetime | None]] = field(default_factory=dict)


def _apply_part(items, *, rows, email_owned, run) -> list[str]:
    contacts = _known_contacts([i.external_id for i in items if i.external_id])
    states = {
        s.contact_id: s
        for s in SpotlerState.objects.select_for_update()
        .filter(contact_id__in=[pk for pk, _ in contacts.values()])
        .order_by("contact_id")
    }
    writes, counted = _Writes(), []
    for item in items:
        found = contacts.get(item.external_id) if item.external_id else None
        if found is None:
            writes.unknown.append(item.external_id or "(none)")
            if item.external_id and item.permissions:
                writes.unknown_permissions[item.external_id] = (
                    {str(bit): on for bit, on in item.permissions.items()},
                    item.last_changed,
                )
            counted.append("skipped")
            continue
        pk, pushed = found
        applied = _apply_item(item, pk=pk, state=states.get(pk), pushed=pushed or {}, rows=rows,
                              email_owned=email_owned, run=run, writes=writes)  # fmt: skip
        counted.append("sent" if applied else "skipped")
    _write(writes)
    return counted


def _apply_item(item, *, pk, state, pushed, rows, email_owned, run, writes: _Writes) -> bool:
    """Collect one known contact's writes; False when there is nothing new to report."""
    changed_at = item.last_changed or timezone.now()
    if state is not None and state.last_changed >= changed_at:
        return False  # this change (or a later one) was applied already
    changes = _profile_changes(item, rows=rows, state=state, pushed=pushed)
    permission_changes = _permission_changes(item, rows=rows, state=state, pushed=pushed)
    _collect_state(pk, item, state=state, changed_at=changed_at, writes=writes)
    published = _collect_changes(
        pk, item.external_id, changes, permission_changes, rows=rows, email_owned=email_owned,
        changed_at=changed_at, run=run, writes=writes,
    )  # fmt: skip
    return bool(published)


def _collect_changes(
    pk, external_id, changes, permission_changes, *, rows, email_owned, changed_at, run,
    writes: _Writes,
) -> list[str]:  # fmt: skip
    """One contact's changes as Spotler's consents, the feed's rows and a timeline line; the
    lines published."""
    writes.consents += [
        SpotlerConsent(contact_id=pk, bit=bit, enabled=enabled, changed_at=changed_at)
        for bit, enabled in permission_changes
    ]
    published = _publish(external_id, changes, permission_changes, rows=rows,
                         email_owned=email_owned, changed_at=changed_at, writes=writes)  # fmt: skip
    if published:
        received = {"properties": changes, "permissions": dict(permission_changes)}
        writes.events.append(
            SyncEvent(contact_id=pk, run=run, kind=SyncEventKind.PULL, ok=True,
                      payload=received, answer="; ".join(published))
        )  # fmt: skip
    return published


def _known_contacts(external_ids: list[str]) -> dict[str, tuple[int, dict | None]]:
    """By external id: the contact's pk and the payload of its last successful push."""
    pushes = SyncEvent.objects.filter(
        contact=OuterRef("pk"), kind=SyncEventKind.PUSH, ok=True
    ).order_by("-at", "-id")
    last_push = pushes.values("payload")[:1]
    # A push leaves out the permissions the shop did not change (sync/push_payload.py): the ones our
    # pushes last sent come from the last push that carried them, to recognise their echo.
    last_permissions = pushes.filter(payload__properties__has_key=PERMISSIONS_PROPERTY).values(
        "payload"
    )[:1]
    found = (
        Contact.objects.filter(external_id__in=external_ids)
        .order_by()  # not the list order: PostgreSQL would walk that index instead
        .annotate(
            pushed=Subquery(last_push, output_field=JSONField()),
            permissions_pushed=Subquery(last_permissions, output_field=JSONField()),
        )
        .values_list("external_id", "pk", "pushed", "permissions_pushed")
    )
    known = {}
    for external_id, pk, pushed, permissions_pushed in found:
        if pushed is not None and permissions_pushed is not None:
            properties = pushed.get("properties", {})
            if PERMISSIONS_PROPERTY not in properties:
                sent = permissions_pushed.get("properties", {}).get(PERMISSIONS_PROPERTY, [])
                pushed = {**pushed, "properties": {**properties, PERMISSIONS_PROPERTY: sent}}
        known[external_id] = (pk, pushed)
    return known


def _parts_without_repeats(items: list[spotler.Contact]) -> Iterator[list[spotler.Contact]]:
    part: list[spotler.Contact] = []
    seen: set[str] = set()
    for item in items:
        if item.external_id and item.external_id in seen:
            yield part
            part, seen = [], set()
        part.append(item)
        if item.external_id:
            seen.add(item.external_id)
    if part:
        yield part


def _profile_changes(item, *, rows, state, pushed) -> dict[str, Any]:
    """Back-mapped properties Spotler changed: not what it said before, not our own echo."""
    before = state.properties if state else {}
    sent = pushed.get("properties", {})
    changes = {}
    for row in rows:
        value = item.properties.get(row.spotler_property)
        if (
            row.bit is None
            and value is not None
            and value not in (before.get(row.spotler_property), sent.get(row.spotler_property))
        ):
            changes[row.spotler_property] = value
    return changes


def _permission_changes(item, *, rows, state, pushed) -> list[tuple[int, bool]]:
    """Permission bits Spotler switched: not what it said before, not the echo of our push."""
    before = {int(k): v for k, v in (state.permissions if state else {}).items()}
    sent = {
        int(p["bit"]): p["enabled"]
        for p in pushed.get("properties", {}).get(PERMISSIONS_PROPERTY, [])
    }
    changes, seen = [], set()
    for row in rows:
        # Two rows may bring one bit back (say, to two shop fields): it changed once.
        if row.bit is None or row.bit not in item.permissions or row.bit in seen:
            continue
        seen.add(row.bit)
        enabled = item.permissions[row.bit]
        if enabled not in (before.get(row.bit), sent.get(row.bit)):
            changes.append((row.bit, enabled))
    return changes


def _publish(
    external_id, changes, permission_changes, *, rows, email_owned, changed_at, writes: _Writes
) -> list[str]:
    lines = []
    by_property = {r.spotler_property: r for r in rows if r.bit is None}
    by_bit = {r.bit: r for r in rows if r.bit is not None}
    for prop, value in changes.items():
        owned = prop == EMAIL_PROPERTY and email_owned
        payload = {
            "field": by_property[prop].source_fields[0], "property": prop, "value": value,
            "changed_at": changed_at.isoformat(), "owned_by_linked_system": owned,
        }  # fmt: skip
        writes.changes.append(
            Change(kind=ChangeKind.PROFILE_CHANGED, external_id=external_id, payload=payload)
        )
        lines.append(
            f"{prop} changed in Spotler" + (" (reported only: the shop owns it)" if owned else "")
        )
    for bit, enabled in permission_changes:
        payload = {
            "field": by_bit[bit].source_fields[0], "bit": bit, "enabled": enabled,
            "changed_at": changed_at.isoformat(),
        }  # fmt: skip
        writes.changes.append(
            Change(kind=ChangeKind.PERMISSION_CHANGED, external_id=external_id, payload=payload)
        )
        lines.append(f"permission {bit} switched {'on' if enabled else 'off'} in Spotler")
    return lines


def _collect_state(pk, item, *, state, changed_at, writes: _Writes) -> None:
    values = {
        "last_changed": changed_at,
        "properties": {k: v for k, v in item.properties.items() if _jsonable(v)},
        "permissions": {str(k): v for k, v in item.permissions.items()},
    }
    if state is None:
        writes.new_states.append(SpotlerState(contact_id=pk, **values))
    else:
        # Unsaved, so that the bulk upsert below updates the locked row by its contact.
        writes.states.append(SpotlerState(contact_id=pk, **values))


def _write(writes: _Writes) -> None:
    """Everything a part of a page collected, a statement per table; the feed last."""
    # A plain INSERT: a concurrent pull that created one of these states first makes it fail.
    SpotlerState.objects.bulk_create(writes.new_states)
    SpotlerState.objects.bulk_create(
        writes.states, update_conflicts=True, unique_fields=["contact"],
        update_fields=["last_changed", "properties", "permissions", "pulled_at"],
    )  # fmt: skip
    SpotlerConsent.objects.bulk_create(
        writes.consents, update_conflicts=True, unique_fields=["contact", "bit"],
        update_fields=["enabled", "changed_at"],
    )  # fmt: skip
    SyncEvent.objects.bulk_create(writes.events)
    record_unknown(writes.unknown, source=SyncRunKind.PULL_UPDATES)
    if writes.unknown_permissions:
        UnknownContact.objects.bulk_create(
            [
                UnknownContact(
                    external_id=e, source=SyncRunKind.PULL_UPDATES, permissions=p, last_changed=at
                )
                for e, (p, at) in writes.unknown_permissions.items()
            ],
            update_conflicts=True,
            unique_fields=["external_id"],
            update_fields=["permissions", "last_changed"],
        )
    publish_changes(writes.changes)


def _jsonable(value: object) -> bool:
    return isinstance(value, str | int | float | bool | list | dict) or value is None
