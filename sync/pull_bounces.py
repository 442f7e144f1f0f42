"""Pulling bounces from Spotler: mails that did not reach a contact (spotler-api.md §6).

Each bounce of a contact the ledger knows is stored once (`bounces.Bounce`, the bounce inbox),
published on the changes feed as `bounced`, and noted on the contact's timeline. Windows
overlap, so the same bounce is read more than once: its externalId, date, type and mailing
make it one row, and only the first reading of it is applied.
"""

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

import spotler
from bounces import followups
from bounces.models import Bounce, BounceKind
from contacts.feed import publish_change
from contacts.models import ChangeKind, Contact, hash_external_id
from sync.models import (
    PullWatermark,
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

logger = logging.getLogger(__name__)

PAGE_SIZE = 100

# The very first bounce pull reads one day back: old bounces would flood the inbox and the feed
# (unlike permissions, they do not decide what a push may send).
FIRST_WINDOW = timedelta(days=1)


def pull_bounces(
    *,
    since: datetime,
    until: datetime,
    client: spotler.SpotlerClient | None = None,
    trigger: str = SyncRunTrigger.SCHEDULE,
    run: SyncRun | None = None,
) -> SyncRun:
    """Read `contact/bounces/list` over [since, until] and apply every bounce once.

    Counts on the run: done = bounces read, sent = new bounces applied, skipped = bounces
    already applied (or of contacts the ledger does not know), failed = bounces without a date.
    """
    client = client or spotler_client()

    def read_pages(after: str | None) -> Iterator[spotler.Page]:
        return client.iter_bounce_pages(since=since, until=until, page_size=PAGE_SIZE, after=after)

    def apply_page(items: list[spotler.Bounce], run: SyncRun) -> Counter:
        return Counter(apply_bounce(item, run=run) for item in items)

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


def apply_bounce(item: spotler.Bounce, *, run: SyncRun) -> str:
    """Apply one bounce; returns which run counter it adds to (sent/skipped/failed)."""
    external_id = item.contact.external_id
    if item.date is None:
        # Without its date a bounce cannot be told apart from the next one; Spotler always
        # sends one (§6), so this is a contract change worth a look.
        logger.warning("Spotler reported a bounce without a date (externalId %r)", external_id)
        return "failed"
    contact = Contact.objects.filter(external_id=external_id).first() if external_id else None
    if contact is None:
        if external_id and _erased(external_id):
            return "skipped"  # the shop deleted this customer: nothing is kept about them
        record_unknown(external_id or "(none)", source=SyncRunKind.PULL_BOUNCES)
        return "skipped"
    values = {
        "external_id": external_id,
        "bounced_at": item.date,
        "kind": BounceKind.HARD if item.hard else BounceKind.SOFT,
        "mailing_id": item.encrypted_act_id or "",
    }
    if Bounce.objects.filter(**values).exists():
        return "skipped"
    with transaction.atomic():
        try:
            with transaction.atomic():
                bounce = Bounce.objects.create(
                    contact=contact, email=(item.contact.email or "")[:254], run=run, **values
                )
        except IntegrityError:
            return "skipped"  # a pull running at the same time stored it first
        payload = _payload(bounce)
        SyncEvent.objects.create(
            contact=contact, run=run, kind=SyncEventKind.PULL, ok=True,
            payload={"bounce": payload}, answer=_describe(bounce),
        )  # fmt: skip
        # Last in the transaction: publishing holds the feed's lock until the commit.
        publish_change(kind=ChangeKind.BOUNCED, external_id=external_id, payload=payload)
        followups.take_bounce(bounce)  # the bounce inbox: open or add to a follow-up
    return "sent"


def record_unknown(external_id: str, *, source: str) -> None:
    """Note an externalId Spotler reported that the ledger does not know (Django admin)."""
    updated = UnknownContact.objects.filter(external_id=external_id).update(
        times_seen=F("times_seen") + 1
    )
    if not updated:
        UnknownContact.objects.get_or_create(external_id=external_id, defaults={"source": source})


def _erased(external_id: str) -> bool:
    return Contact.objects.erased().filter(external_id_hash=hash_external_id(external_id)).exists()


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
