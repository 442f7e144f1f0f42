"""Pushing one batch of the ledger's changes to Spotler, as a push run of its own.

A batch claims up to `limit` contacts with pending outbox entries (sync/push_claims.py), sends
each contact's *current* ledger state through the mapping in force once, however many changes
it has pending (sync/push_payload.py, sync/push_calls.py), and settles its entries. Live changes
go out one contact at a time with `POST contact` (update=true); a burst (an import, a batch from
the shop) 100 contacts per `POST contact/list`.

Who drains the outbox batch after batch: the queue task `sync.tasks.push_pending_changes` (for
up to a minute, on each change and every minute) and an operator's push run
(`sync.runs.push_until_empty`).
"""

from django.db.models import Min
from django.utils import timezone

import spotler
from contacts.models import Contact
from mapping.current import mapping_in_force
from spotlersync.logs import log_context
from sync.models import (
    OutboxEntry,
    OutboxKind,
    OutboxStatus,
    SyncRun,
    SyncRunKind,
    SyncRunStatus,
    SyncRunTrigger,
)
from sync.push_calls import push_contact, upsert_many
from sync.push_claims import claim_contacts, settle_entries
from sync.spotler_connection import spotler_client

BATCH_THRESHOLD = 10  # from this many plain upserts claimed at once, they go in batches


def push_one_batch(
    *,
    limit: int = 500,
    client: spotler.SpotlerClient | None = None,
    trigger: str = SyncRunTrigger.LIVE,
    only: list[int] | None = None,
) -> SyncRun | None:
    """Claim up to `limit` contacts with pending changes and push each once; None if idle.
    `only`: of these contacts alone (lists/push_first.py pushes a list's contacts first)."""
    token, contact_ids = claim_contacts(limit=limit, only=only)
    if not contact_ids:
        return None
    now = timezone.now()
    run = SyncRun.objects.create(
        kind=SyncRunKind.PUSH, trigger=trigger, status=SyncRunStatus.RUNNING,
        started_at=now, heartbeat_at=now, total=len(contact_ids),
    )  # fmt: skip
    with log_context(run=run.pk):
        return _push_claimed(run, token=token, contact_ids=contact_ids, client=client)


def _push_claimed(
    run: SyncRun, *, token: str, contact_ids: list[int], client: spotler.SpotlerClient | None
) -> SyncRun:
    """Push each claimed contact once (in batches when many), and end the run."""
    client = client or spotler_client()
    mapping = mapping_in_force()
    entries = OutboxEntry.objects.filter(claim=token, status=OutboxStatus.IN_FLIGHT)
    kinds_by_contact: dict[int, set[str]] = {}
    external_ids: dict[int, str] = {}
    for contact_id, kind, external_id in entries.values_list("contact_id", "kind", "external_id"):
        kinds_by_contact.setdefault(contact_id, set()).add(kind)
        if external_id:
            external_ids[contact_id] = external_id
    contacts = list(Contact.objects.filter(pk__in=contact_ids))
    plain = [c for c in contacts if kinds_by_contact.get(c.pk) == {OutboxKind.UPSERT}]
    # A burst (an import, a batch from the shop) goes 100 contacts a call, not one.
    batched = (
        upsert_many(plain, client=client, mapping=mapping, run=run)
        if len(plain) >= BATCH_THRESHOLD
        else {}
    )
    retried: list[str] = []  # Spotler's answers to the contacts to be tried again later
    for contact in contacts:
        with log_context(contact=contact.external_id or external_ids.get(contact.pk)):
            outcome = batched.get(contact.pk) or push_contact(
                contact, kinds=kinds_by_contact.get(contact.pk, set()),
                external_id=external_ids.get(contact.pk), client=client, mapping=mapping,
                run=run,
            )  # fmt: skip
        settle_entries(token=token, contact=contact, outcome=outcome)
        run.done += 1
        run.sent += outcome.ok and not outcome.skipped
        run.failed += not outcome.ok and not outcome.transient
        run.skipped += outcome.skipped or outcome.transient
        if outcome.transient:
            retried.append(outcome.answer)
    run.status, run.error = SyncRunStatus.SUCCEEDED, ""
    if retried and not run.sent:
        # Nothing got through (Spotler down): the run must not read as a success.
        run.status = SyncRunStatus.FAILED
        run.error = nothing_accepted(run, retried=retried, contact_ids=contact_ids)
    run.finished_at = timezone.now()
    run.save()
    return run


def nothing_accepted(run: SyncRun, *, retried: list[str], contact_ids: list[int]) -> str:
    """Why a batch got nothing through, and when its contacts are tried again."""
    retry_at = OutboxEntry.objects.filter(
        contact_id__in=contact_ids, status=OutboxStatus.PENDING, not_before__isnull=False
    ).aggregate(at=Min("not_before"))["at"]
    when = f"from {timezone.localtime(retry_at):%H:%M}" if retry_at else "later"
    if run.done == 1:
        head = f"Spotler did not accept the contact; it is retried {when}"
    elif len(retried) == run.done:
        head = f"Spotler did not accept any of {run.done} contacts; they are retried {when}"
    else:
        head = (
            f"Spotler did not accept any of {run.done} contacts; {len(retried)} of them are "
            f"retried {when}"
        )
    return f"{head} (reason: {retried[0]})"
