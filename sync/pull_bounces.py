"""Pulling bounces from Spotler: mails that did not reach a contact (spotler-api.md §6).

Each bounce is stored once (`bounces.Bounce`, the bounce inbox). A bounce of a contact in the
ledger is also published on the changes feed as `bounced`, noted on the contact's timeline and
handed to the inbox's follow-ups; a bounce of a contact the shop deleted (erased, or anonymized
in Spotler too) or one the ledger never knew is kept without personal data beyond what Spotler
reported of an unknown contact, counted, and opens nothing. Windows overlap, so the same bounce
is read more than once: its contact (the externalId's hash), date, type and mailing make it one
row, and only the first reading of it is applied.

A page is applied in a fixed handful of statements, whatever its size: its contacts by hash
(locked, in id order, as the ingest API and the push lock them: an erasure waits for the page, or
the page for the erasure, and then sees the contact erased), the bounces it already stored, then
bulk inserts, the feed, and the follow-ups. A pull running
at the same time that stores one of the page's bounces first makes the insert fail on the unique
key; the page is then applied again against what that pull wrote.
"""

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

import spotler
from bounces import followups
from bounces.models import Bounce, BounceKind, LedgerState, bounce_key_hash
from contacts.feed import publish_changes
from contacts.models import Change, ChangeKind, Contact, SyncStatus
from sync.models import (
    PullWatermark,
    SyncEvent,
    SyncEventKind,
    SyncRun,
    SyncRunKind,
    SyncRunStatus,
    SyncRunTrigger,
)
from sync.paged_pull import pull_pages
from sync.spotler_connection import spotler_client
from sync.unknown_contacts import record_unknown

logger = logging.getLogger(__name__)

# The very first bounce pull reads one day back: old bounces would flood the inbox and the feed
# (unlike permissions, they do not decide what a push may send).
FIRST_WINDOW = timedelta(days=1)
# A page that collided with a concurrent pull is applied again; more than a few collisions in a
# row would be a bug, not a race.
ATTEMPTS = 3

# (externalId hash, date, kind, mailing): what makes a bounce one row.
Key = tuple[str, datetime, str, str]


def pull_bounces(
    *,
    since: datetime,
    until: datetime,
    client: spotler.SpotlerClient | None = None,
    trigger: str = SyncRunTrigger.SCHEDULE,
    run: SyncRun | None = None,
) -> SyncRun:
    """Read `contact/bounces/list` over [since, until] and apply every bounce once.

    Counts on the run: done = bounces read, sent = new bounces of contacts in the ledger,
    skipped = bounces already stored, and new ones of contacts that are erased, anonymized or
    unknown to the ledger (kept, with no follow-up), failed = bounces without a date.
    """
    client = client or spotler_client()

    def read_pages(after: str | None) -> Iterator[spotler.Page]:
        size = settings.SYNC_PULL_BOUNCES_PAGE_SIZE
        return client.iter_bounce_pages(since=since, until=until, page_size=size, after=after)

    def apply_page(items: list[spotler.Bounce], run: SyncRun) -> Counter:
        return Counter(apply_bounces(items, run=run))

    return pull_pages(
        run, kind=SyncRunKind.PULL_BOUNCES, trigger=trigger, since=since, until=until,
        read_pages=read_pages, apply_page=apply_page,
    )  # fmt: skip


def pull_bounces_on_schedule(*, client: spotler.SpotlerClient | None = None) -> SyncRun:
    """The scheduled pull: from a little before the last watermark up to now."""
    now = timezone.now()
    overlap = timedelta(minutes=settings.SYNC_PULL_OVERLAP_MINUTES)
    mark = PullWatermark.objects.filter(kind=SyncRunKind.PULL_BOUNCES).first()
    since = (mark.until - overlap) if mark else now - FIRST_WINDOW
    run = pull_bounces(since=since, until=now, client=client)
    if run.status == SyncRunStatus.SUCCEEDED:
        PullWatermark.objects.update_or_create(
            kind=SyncRunKind.PULL_BOUNCES, defaults={"until": now}
        )
    return run


def apply_bounces(items: list[spotler.Bounce], *, run: SyncRun | None) -> list[str]:
    """Apply a page of bounces; per item, the run counter it adds to (sent/skipped/failed)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _apply_page(items, run=run)
        except IntegrityError:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


@dataclass
class _Reading:
    """One bounce as read, and its row's unique key."""

    item: spotler.Bounce
    key: Key


def _apply_page(items: list[spotler.Bounce], *, run: SyncRun | None) -> list[str]:
    readings: list[_Reading | None] = []
    for item in items:
        if item.date is None:
            # Without its date a bounce cannot be told apart from the next one; Spotler always
            # sends one (§6), so this is a contract change worth a look.
            ext = item.contact.external_id
            logger.warning("Spotler reported a bounce without a date (externalId %r)", ext)
            readings.append(None)
        else:
            readings.append(_Reading(item, _key(item)))
    dated = [r for r in readings if r is not None]
    contacts = _lock_contacts_by_hash({r.key[0] for r in dated})
    stored = _stored_keys(dated)
    new: dict[Key, Bounce] = {}
    for reading in dated:
        if reading.key not in stored and reading.key not in new:
            new[reading.key] = _bounce(reading, contact=contacts.get(reading.key[0]), run=run)
    Bounce.objects.bulk_create(new.values())
    known = [b for b in new.values() if b.ledger_state == LedgerState.KNOWN]
    _publish(known, run=run)
    followups.open_for_bounces(known)  # the bounce inbox: open or add to follow-ups
    unknown = [b for b in new.values() if b.ledger_state == LedgerState.UNKNOWN]
    record_unknown([b.external_id or "(none)" for b in unknown], source=SyncRunKind.PULL_BOUNCES)
    counted, applied = [], set()
    for reading in readings:
        if reading is None:
            counted.append("failed")
            continue
        bounce = new.get(reading.key)
        first = bounce is not None and reading.key not in applied
        applied.add(reading.key)
        counted.append("sent" if first and bounce.ledger_state == LedgerState.KNOWN else "skipped")
    return counted


def _key(item: spotler.Bounce) -> Key:
    kind = BounceKind.HARD if item.hard else BounceKind.SOFT
    email = (item.contact.email or "")[:254]
    hashed = bounce_key_hash(external_id=item.contact.external_id, email=email)
    return (hashed, item.date, kind, item.encrypted_act_id or "")


def _stored_keys(readings: list[_Reading]) -> set[Key]:
    """The keys of the page's bounces stored already (by an earlier, overlapping window)."""
    if not readings:
        return set()
    dates = [r.key[1] for r in readings]
    rows = Bounce.objects.filter(
        external_id_hash__in={r.key[0] for r in readings},
        bounced_at__gte=min(dates), bounced_at__lte=max(dates),
    ).values_list("external_id_hash", "bounced_at", "kind", "mailing_id")  # fmt: skip
    return set(rows)


def _lock_contacts_by_hash(hashes: set[str]) -> dict[str, Contact]:
    """The page's contacts in the ledger, erased ones (tombstones) included, by externalId hash,
    locked until the page commits: a contact erased meanwhile is read as erased, and one erased
    later waits for the page and then forgets what the page stored of it. In id order, as every
    other writer locks contacts, so two of them never wait for each other."""
    if not hashes:
        return {}
    found = Contact.objects.select_for_update().filter(external_id_hash__in=hashes).order_by("pk")
    return {c.external_id_hash: c for c in found}


def _bounce(reading: _Reading, *, contact: Contact | None, run: SyncRun | None) -> Bounce:
    """The row to store for a new bounce; what is kept depends on what the ledger knows."""
    hashed, bounced_at, kind, mailing_id = reading.key
    item = reading.item
    common = {
        "external_id_hash": hashed, "bounced_at": bounced_at, "kind": kind,
        "mailing_id": mailing_id, "run": run,
    }  # fmt: skip
    email = (item.contact.email or "")[:254]
    if contact is None:
        # Unknown: kept as Spotler reported it (its externalId is under Unknown contacts too).
        external_id = item.contact.external_id or ""
        return Bounce(ledger_state=LedgerState.UNKNOWN, external_id=external_id, email=email,
                      **common)  # fmt: skip
    if contact.is_erased:
        # The shop deleted this customer: nothing that names them is kept, only the hash the
        # tombstone holds as well.
        anonymized = contact.sync_status == SyncStatus.ANONYMIZED
        state = LedgerState.ANONYMIZED if anonymized else LedgerState.ERASED
        return Bounce(ledger_state=state, external_id="", email="", **common)
    return Bounce(
        ledger_state=LedgerState.KNOWN, contact=contact, external_id=contact.external_id,
        email=email, **common,
    )  # fmt: skip


def _publish(bounces: list[Bounce], *, run: SyncRun | None) -> None:
    """The contacts' timelines and the changes feed (last: its lock is held until the commit)."""
    events, changes = [], []
    for bounce in bounces:
        payload = _payload(bounce)
        events.append(SyncEvent(
            contact=bounce.contact, run=run, kind=SyncEventKind.PULL, ok=True,
            payload={"bounce": payload}, answer=_describe(bounce),
        ))  # fmt: skip
        changes.append(
            Change(kind=ChangeKind.BOUNCED, external_id=bounce.external_id, payload=payload)
        )
    SyncEvent.objects.bulk_create(events)
    publish_changes(changes)


def _payload(bounce: Bounce) -> dict:
    return {
        "type": bounce.kind,
        "email": bounce.email,
        "bounced_at": bounce.bounced_at.isoformat(),
        "mailing_id": bounce.mailing_id,
    }


def _describe(bounce: Bounce) -> str:
    at = timezone.localtime(bounce.bounced_at).strftime("%Y-%m-%d %H:%M")
    address = f" to {bounce.email}" if bounce.email else ""
    return f"{bounce.get_kind_display()} in Spotler: a mail{address} bounced at {at}"
