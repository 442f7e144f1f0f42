"""One batch of a reconciliation: read Spotler's copies of its contacts and compare each with
the ledger (identity/drift.py), leaving out the contacts a push is sending meanwhile.

Several calls are in flight at once (SYNC_RECONCILE_FETCHERS), each thread with its own client
(a `requests.Session` is not shared between threads) and its own database connection for the
rate limit's slots, so a run keeps to the rate limit's pace rather than one round trip's.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections

import spotler
from contacts.models import Contact
from identity.drift import Drift, MappedRows, compare
from identity.models import DriftFinding, DriftKind, FindingState
from sync.models import OutboxEntry, OutboxStatus, SyncRun
from sync.push_claims import PushOutcome
from sync.push_payload import prepare_upsert, spotler_off_at_many
from sync.spotler_connection import spotler_client

# An outbox entry in one of these states: the contact's push is under way (or waits for review).
UNDER_WAY = (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT, OutboxStatus.HELD)


@dataclass
class BatchResult:
    findings: list[DriftFinding] = field(default_factory=list)
    in_step: int = 0
    drifted: int = 0
    skipped: int = 0


def check_batch(run: SyncRun, contacts: list[Contact], *, mapping, rows: MappedRows) -> BatchResult:
    """Read the contacts' copies from Spotler and compare; skip those a push is sending."""
    result = BatchResult()
    ids = [c.pk for c in contacts]
    before = under_way(ids)
    to_check = [c for c in contacts if c.pk not in before]
    result.skipped += len(contacts) - len(to_check)
    copies = fetch_copies([c.external_id for c in to_check])
    # A push that started or ended while Spotler was read: its copy is about to change (or just
    # did), and the comparison would report drift the push is fixing.
    moved = under_way(ids) | changed_since(to_check)
    off_at = spotler_off_at_many(ids, contacts=to_check)
    for contact in to_check:
        if contact.pk in moved:
            result.skipped += 1
            continue
        drifts = compare_one(
            contact, copies[contact.external_id], mapping=mapping, rows=rows,
            off_at=off_at.get(contact.pk, {}),
        )  # fmt: skip
        if drifts is None:
            result.skipped += 1
        elif drifts:
            result.drifted += 1
            result.findings += [new_finding(run, contact, d) for d in drifts]
        else:
            result.in_step += 1
    carry_over_ignored(result.findings)
    return result


def compare_one(
    contact: Contact, copy: spotler.Contact | None, *, mapping, rows, off_at: dict
) -> list[Drift] | None:
    """The contact's drift; None when it cannot be compared (a push could not send it)."""
    prepared = prepare_upsert(
        contact, mapping=mapping, spotler_off_at=off_at, may_switch_on=not contact.inactivated_at
    )
    if isinstance(prepared, PushOutcome):
        return None
    if copy is None:
        return [Drift(DriftKind.MISSING)]
    return compare(prepared, copy, rows=rows, mapping=mapping)


def under_way(contact_ids: list[int]) -> set[int]:
    """The contacts with a change in the outbox: pending, being pushed, or held for review."""
    entries = OutboxEntry.objects.filter(contact_id__in=contact_ids, status__in=UNDER_WAY)
    return set(entries.values_list("contact_id", flat=True))


def changed_since(contacts: list[Contact]) -> set[int]:
    """The contacts whose ledger state or last push differs from the copies in hand."""
    now = Contact.objects.filter(pk__in=[c.pk for c in contacts]).values_list(
        "pk", "changed_at", "synced_at"
    )
    held = {c.pk: (c.changed_at, c.synced_at) for c in contacts}
    return {pk for pk, changed, synced in now if held.get(pk) != (changed, synced)}


def fetch_copies(external_ids: list[str]) -> dict[str, spotler.Contact | None]:
    """Spotler's copy of each contact (None: Spotler has none), through the shared rate limit.

    Several calls are in flight at once (SYNC_RECONCILE_FETCHERS, each with its own client and
    database connection for the rate limit's slots), so the run goes at the rate limit's pace
    rather than one round trip's; with one fetcher the calls are made here, one by one."""
    fetchers = max(1, min(settings.SYNC_RECONCILE_FETCHERS, len(external_ids)))
    if fetchers == 1:
        return _fetch_part(external_ids, own_thread=False)
    parts = [external_ids[n::fetchers] for n in range(fetchers)]
    copies: dict[str, spotler.Contact | None] = {}
    with ThreadPoolExecutor(max_workers=fetchers, thread_name_prefix="reconcile") as pool:
        for part in pool.map(_fetch_part, parts):
            copies.update(part)
    return copies


def _fetch_part(
    external_ids: list[str], own_thread: bool = True
) -> dict[str, spotler.Contact | None]:
    client = spotler_client()
    try:
        return {external_id: client.get_contact(external_id) for external_id in external_ids}
    finally:
        client.close()
        if own_thread:
            connections.close_all()  # this thread's own, opened for the rate limit's slots


def new_finding(run: SyncRun, contact: Contact, drift: Drift) -> DriftFinding:
    return DriftFinding(
        run=run, kind=drift.kind, contact=contact, external_id=contact.external_id,
        details=drift.details,
    )  # fmt: skip


def carry_over_ignored(findings: list[DriftFinding]) -> None:
    """A finding someone ignored in an earlier run stays ignored while it is the same drift
    (same kind, contact and values): a weekly run does not ask about it again."""
    if not findings:
        return
    ignored = DriftFinding.objects.filter(
        state=FindingState.IGNORED,
        external_id__in={f.external_id for f in findings},
        kind__in={f.kind for f in findings},
    ).order_by("resolved_at")
    earlier = {(f.kind, f.external_id, signature(f.details)): f for f in ignored}
    for finding in findings:
        before = earlier.get((finding.kind, finding.external_id, signature(finding.details)))
        if before is not None:
            finding.state = FindingState.IGNORED
            finding.resolved_by_id, finding.resolved_at = before.resolved_by_id, before.resolved_at


def signature(details: list[dict]) -> tuple:
    """What makes two findings the same drift: the values, not the wording around them."""
    values = [(d.get("field"), d.get("bit"), d.get("ledger"), d.get("spotler")) for d in details]
    return tuple(sorted(repr(v) for v in values))
