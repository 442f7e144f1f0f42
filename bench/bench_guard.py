"""The guard on push (issue 17) costs a push batch next to nothing: one query per batch under
e-mail deduplication, none under externalId deduplication.

PostgreSQL (a database of its own, `spotlersync_bench_guard`, made afresh each run) holds a
ledger of LEDGER contacts already in Spotler. Each round the shop sends BATCH new contacts
through the batch ingest, one in ten with the address of a contact Spotler has; a push claims
them (`claim_contacts`, where the guard screens them) and sends them to the sandbox (in this
process, no rate limit) 100 per call. Timed: the claim alone and the whole batch (claim, render,
calls, settling), ROUNDS rounds under each mode, medians; counted: the claim's reads.
"""

import statistics
import time

from bench.database import set_up_fresh_database
from bench.figures import Figure

DB_NAME = "spotlersync_bench_guard"
LEDGER = 100_000
BATCH = 500
SHARED_EVERY = 10  # one new contact in ten has the address of a contact Spotler has
ROUNDS = 7
SHARE_TARGET = 5.0  # percent of a push batch's time


def seed() -> float:
    from django.utils import timezone

    from contacts.batch import upsert_contacts
    from contacts.models import Contact, SyncStatus
    from sync.models import OutboxEntry, OutboxStatus

    started = time.monotonic()
    for start in range(0, LEDGER, 1000):
        upsert_contacts(items=[
            {"external_id": f"S-{n}", "email": f"s{n}@example.nl", "newsletter": True}
            for n in range(start, start + 1000)
        ])  # fmt: skip
    OutboxEntry.objects.update(status=OutboxStatus.DONE)
    now = timezone.now()
    Contact.objects.update(sync_status=SyncStatus.SYNCED, synced_at=now, pushed_changed_at=now)
    return time.monotonic() - started


def new_batch(number: int) -> None:
    """BATCH new contacts from the shop; every SHARED_EVERY-th with a synced contact's address
    (another one each time: a household has a few people, not hundreds)."""
    from contacts.batch import upsert_contacts

    items = []
    for n in range(BATCH):
        shared = n % SHARED_EVERY == 0
        address = (
            f"S{(number * BATCH + n) % LEDGER}@Example.nl" if shared else f"n{number}x{n}@x.nl"
        )
        items.append({"external_id": f"N{number}x{n}", "email": address, "newsletter": True})
    upsert_contacts(items=items)


def one_round(number: int, *, client) -> tuple[float, float, int, int]:
    """(claim ms, batch ms, the claim's reads, contacts held) of one batch of new contacts."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from contacts.models import Contact, SyncStatus
    from sync import push, push_claims
    from sync.models import SyncRun, SyncRunKind, SyncRunStatus, SyncRunTrigger

    new_batch(number)
    reset_queries()  # the debug log keeps 9,000 queries at most: the count needs room
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        token, ids = push_claims.claim_contacts(limit=BATCH)
        claimed = time.perf_counter()
    run = SyncRun.objects.create(
        kind=SyncRunKind.PUSH,
        trigger=SyncRunTrigger.LIVE,
        status=SyncRunStatus.RUNNING,
        total=len(ids),
    )
    push._push_claimed(run, token=token, contact_ids=ids, client=client)
    done = time.perf_counter()
    held = Contact.objects.filter(sync_status=SyncStatus.HELD).count()
    Contact.objects.filter(sync_status=SyncStatus.HELD).update(sync_status=SyncStatus.LOCAL_ONLY)
    reads = sum(1 for q in queries.captured_queries if q["sql"].startswith("SELECT"))
    return (claimed - started) * 1000, (done - started) * 1000, reads, held


def run() -> list[Figure]:
    set_up_fresh_database(DB_NAME)
    import spotler
    from identity.models import DedupeMode, SpotlerAccount
    from mapping.catalogue import refresh_catalogue
    from spotler.sandbox import serve_in_thread

    seconds = seed()
    sandbox = serve_in_thread()
    sandbox.set(rate_limit=0, dedupe="email")
    client = spotler.SpotlerClient(
        base_url=sandbox.base_url,
        consumer_key=sandbox.consumer_key,
        consumer_secret=sandbox.consumer_secret,
    )
    refresh_catalogue(client=client)
    measured: dict[str, list[tuple[float, float, int, int]]] = {}
    try:
        # A warm-up pass, then the measured one; the modes take turns.
        for turn, mode in enumerate((DedupeMode.EXTERNAL_ID, DedupeMode.EMAIL) * 2):
            SpotlerAccount.objects.update_or_create(pk=1, defaults={"dedupe_mode": mode})
            rounds = range(turn * ROUNDS, (turn + 1) * ROUNDS)
            measured[mode] = [one_round(number, client=client) for number in rounds]
    finally:
        sandbox.stop()
    by_id, by_email = measured[DedupeMode.EXTERNAL_ID], measured[DedupeMode.EMAIL]
    claim_id = statistics.median(r[0] for r in by_id)
    claim_email = statistics.median(r[0] for r in by_email)
    batch_email = statistics.median(r[1] for r in by_email)
    extra_reads = by_email[-1][2] - by_id[-1][2]
    note = (
        f"{BATCH} new contacts a batch (1 in {SHARED_EVERY} sharing an address with one of "
        f"{LEDGER:,} contacts in Spotler), PostgreSQL, {ROUNDS} batches per mode; ledger seeded "
        f"in {seconds:.0f} s"
    )
    return [
        Figure("claim of a batch, externalId deduplication (no screening)", claim_id, "ms",
               higher_is_better=False, note=f"{note}; {by_id[-1][2]} reads"),
        Figure("claim of a batch, e-mail deduplication (the guard screens it)", claim_email,
               "ms", higher_is_better=False,
               note=f"{note}; {by_email[-1][2]} reads, {by_email[-1][3]} held"),
        Figure("the guard's reads per batch", extra_reads, "queries", target=1,
               higher_is_better=False,
               note="whatever the batch's size; holding contacts writes 2 more (their entries, "
                    "the contacts)"),
        Figure("the guard's share of a push batch", 100 * (claim_email - claim_id) / batch_email,
               "%", target=SHARE_TARGET, higher_is_better=False,
               note=f"whole batch (claim, render, 5 calls to the sandbox, settling): "
                    f"{batch_email:.0f} ms"),
    ]  # fmt: skip
