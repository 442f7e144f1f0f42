"""Pull and apply 50,000 updated contacts in under 60 s (issue 6), on PostgreSQL.

The ledger (a database of its own, `spotlersync_bench_pull`, made afresh each run) holds 50,000
contacts as pushes and an earlier pull left them: a successful push event with the payload sent,
and Spotler's state as that pull read it. The sandbox (`manage.py spotler_sandbox`, a process of
its own) received the same contacts through `POST contact/list`; then every one of them changes
on Spotler's side (`POST /_sandbox/contacts/edits`): a new first name, every fifth one also
unsubscribes from the newsletter, every tenth gets a new e-mail address (which the shop owns:
reported on the feed, not applied).

Timed, end to end: `sync.pull.pull_updates` over the window as the scheduled pull runs it: the
production client with the shared rate limiter (`SPOTLER_RATE_LIMIT`, 10 calls/s) against the
sandbox at its own default limit, every page read, every change applied and published on the
changes feed. Then the same window once more: everything was applied, so nothing is (the cost
of the overlapping windows).
"""

import os
import time
from datetime import timedelta

from bench.bench_sandbox import sandbox_command
from bench.database import set_up_fresh_database
from bench.figures import Figure

DB_NAME = "spotlersync_bench_pull"
CONTACTS = int(os.environ.get("BENCH_PULL_CONTACTS", "50000"))
TARGET_SECONDS = 60
UNSUBSCRIBE_EVERY = 5
NEW_EMAIL_EVERY = 10
EDITS_PER_CALL = 5000
SANDBOX_RATE_LIMIT = 10  # the sandbox's default


def external_id(n: int) -> str:
    return f"C{n:06d}"


def pushed_properties(n: int) -> dict:
    return {"email": f"c{n}@example.com", "firstName": "Anna", "lastName": f"Jansen-{n}"}


def seed_ledger(now) -> None:
    """The contacts, their last push and Spotler's state as the previous pull saw it."""
    from contacts.models import Contact, SyncStatus, hash_external_id
    from contacts.source_fields import hash_fields
    from sync.models import SpotlerState, SyncEvent, SyncEventKind

    for start in range(0, CONTACTS, 5000):
        numbers = range(start, min(start + 5000, CONTACTS))
        contacts = []
        for n in numbers:
            fields = {"email": f"c{n}@example.com", "first_name": "Anna",
                      "last_name": f"Jansen-{n}", "newsletter": True}  # fmt: skip
            contacts.append(Contact(
                external_id=external_id(n), external_id_hash=hash_external_id(external_id(n)),
                fields=fields, fields_hash=hash_fields(fields), email=fields["email"],
                language="nl", sync_status=SyncStatus.SYNCED, synced_at=now, changed_at=now,
            ))  # fmt: skip
        contacts = Contact.objects.bulk_create(contacts)
        SyncEvent.objects.bulk_create(
            SyncEvent(contact=c, kind=SyncEventKind.PUSH, ok=True, at=now, answer="accepted",
                      payload={"externalId": c.external_id, "properties": {
                          **pushed_properties(n), "permissions": [{"bit": 1, "enabled": True}]}})
            for n, c in zip(numbers, contacts, strict=True)
        )  # fmt: skip
        SpotlerState.objects.bulk_create(
            SpotlerState(contact=c, last_changed=now, properties=pushed_properties(n),
                         permissions={"1": True})
            for n, c in zip(numbers, contacts, strict=True)
        )  # fmt: skip


def seed_sandbox(sandbox) -> None:
    """What the pushes sent, then every contact edited on Spotler's side."""
    import spotler

    client = spotler.SpotlerClient(
        base_url=sandbox.base_url,
        consumer_key=sandbox.consumer_key,
        consumer_secret=sandbox.consumer_secret,
    )
    sandbox.set(rate_limit=0)
    for start in range(0, CONTACTS, 100):
        client.upsert_contacts(
            [spotler.Contact(external_id=external_id(n), properties=pushed_properties(n),
                             permissions={1: True})
             for n in range(start, min(start + 100, CONTACTS))],
            update=True, purge=False,
        )  # fmt: skip
    for start in range(0, CONTACTS, EDITS_PER_CALL):
        edits = [
            {"externalId": external_id(n), "properties": edited_properties(n)}
            for n in range(start, min(start + EDITS_PER_CALL, CONTACTS))
        ]
        sandbox.control("POST", "contacts/edits", {"edits": edits})
    sandbox.set(rate_limit=SANDBOX_RATE_LIMIT)


def edited_properties(n: int) -> dict:
    properties = {"firstName": f"Anne {n}"}
    if n % UNSUBSCRIBE_EVERY == 0:
        properties["permissions"] = [{"bit": 1, "enabled": False}]
    if n % NEW_EMAIL_EVERY == 0:
        properties["email"] = f"new{n}@example.com"
    return properties


def expected_feed_rows() -> int:
    return (
        CONTACTS
        + len(range(0, CONTACTS, UNSUBSCRIBE_EVERY))
        + len(range(0, CONTACTS, NEW_EMAIL_EVERY))
    )


def analyze() -> None:
    """Statistics for the freshly loaded tables, as autovacuum keeps them in production."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def timed_pull(since, until) -> tuple[float, object, int]:
    """(seconds, the run, statements sent to the database) of one pull over the window."""
    from django.db import connection

    from sync import pull

    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    started = time.monotonic()
    with connection.execute_wrapper(count):
        run = pull.pull_updates(since=since, until=until)
    return time.monotonic() - started, run, statements


def run() -> list[Figure]:
    with sandbox_command() as (sandbox, _pid):
        set_up_fresh_database(DB_NAME, SPOTLER_BASE_URL=sandbox.base_url)
        from django.conf import settings
        from django.utils import timezone

        from contacts.models import Change
        from sync import pull

        began, seeding = timezone.now(), time.monotonic()
        seed_ledger(began - timedelta(seconds=1))
        seed_sandbox(sandbox)
        analyze()
        seeded = time.monotonic() - seeding
        loadavg = ", ".join(f"{v:.2f}" for v in os.getloadavg())
        since, until = began - timedelta(minutes=1), timezone.now() + timedelta(seconds=1)
        seconds, first, statements = timed_pull(since, until)
        published = Change.objects.count()
        again, second, _ = timed_pull(since, until)
    pages = -(-CONTACTS // pull.PAGE_SIZE)
    how = (
        f"{CONTACTS:,} contacts changed in the sandbox, pages of {pull.PAGE_SIZE} ({pages} calls) "
        f"at {settings.SPOTLER_RATE_LIMIT:g} calls/s, PostgreSQL, {os.cpu_count()} cores shared "
        f"with the sandbox; load average before: {loadavg}; seeded in {seeded:.0f} s"
    )
    ok = (
        first.status == "succeeded"
        and (first.done, first.sent) == (CONTACTS, CONTACTS)
        and published == expected_feed_rows()
    )
    check = "" if ok else (
        f"; WRONG RESULT: {first.status} {first.error} done {first.done} sent {first.sent}, "
        f"{published} feed rows (expected {expected_feed_rows()})"
    )  # fmt: skip
    return [
        Figure(f"pull and apply {CONTACTS:,} updated contacts", seconds, "s",
               target=TARGET_SECONDS, higher_is_better=False,
               note=f"{how}; {published:,} feed rows, {statements / pages:.1f} database "
                    f"statements per page{check}"),
        Figure("the same window again (all applied already)", again, "s", higher_is_better=False,
               note=f"{second.skipped:,} of {second.done:,} skipped"),
    ]  # fmt: skip
