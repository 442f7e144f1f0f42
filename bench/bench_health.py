"""The health page over 100,000 contacts and a million timeline events on PostgreSQL (issue 15:
median under 150 ms; it refreshes itself every 10 s, so each open tab pays it six times a
minute).

Server time only: Django's test client calls the view in this process, logged in as an Admin,
for the whole page and for the part the page polls (`HX-Request`). The data lives in a
database of its own, `spotlersync_bench_health`, made afresh and filled with a few
`INSERT … SELECT … FROM generate_series` statements (seconds, not minutes): contacts, the
timeline events of 14 days (a third of them pulls, 2 % failed), the outbox entries of 14 days
(a few hundred waiting, a few hundred failed), a live push run per minute, and the scheduled
jobs. Run it on its own (`python -m bench health`): Django must be set up with that database.
"""

import statistics
import time

from bench.database import set_up_fresh_database

DATABASE = "spotlersync_bench_health"
CONTACTS = 100_000
EVENTS = 1_000_000
OUTBOX = 500_000
WAITING, FAILED = 300, 400
DAYS = 14
REQUESTS = 20
WARMUP = 3
TARGET_MS = 150

SEED_SQL = [
    # The ledger: plain contacts (the health page reads none of their fields).
    f"""
    INSERT INTO contacts_contact (external_id, external_id_hash, fields, fields_hash,
        field_changed_at, email, language, account_manager, sync_status, sync_error,
        changed_at, created_at, synced_at)
    SELECT 'C-' || lpad(i::text, 6, '0'), md5('C-' || i), '{{}}'::jsonb, md5(i::text),
        '{{}}'::jsonb, 'c' || i || '@example.nl', 'nl', '', 'synced', '',
        now() - (i || ' seconds')::interval, now() - interval '30 days', now()
    FROM generate_series(1, {CONTACTS}) AS i
    """,  # noqa: S608 (the module's own numbers)
    # One live push run a minute over the DAYS (the batches the events below belong to).
    f"""
    INSERT INTO sync_syncrun (kind, trigger, status, filters, done, sent, failed, skipped,
        checkpoint, cancel_requested, error, created_at, started_at, finished_at)
    SELECT 'push', 'live', 'succeeded', '{{}}'::jsonb, 50, 49, 1, 0, '{{}}'::jsonb, false, '',
        now() - (i || ' minutes')::interval, now() - (i || ' minutes')::interval,
        now() - (i || ' minutes')::interval + interval '2 seconds'
    FROM generate_series(1, {DAYS * 24 * 60}) AS i
    """,  # noqa: S608 (the module's own numbers)
    # The timeline: a million calls over the DAYS, a third of them pulls, 2 % failed.
    f"""
    INSERT INTO sync_syncevent (contact_id, kind, at, ok, payload, answer)
    SELECT (SELECT min(id) FROM contacts_contact) + (i % {CONTACTS}),
        CASE WHEN i % 3 = 0 THEN 'pull' ELSE 'push' END,
        now() - ((i::float / {EVENTS}) * interval '{DAYS} days'),
        i % 50 <> 0, '{{}}'::jsonb, ''
    FROM generate_series(1, {EVENTS}) AS i
    """,  # noqa: S608 (the module's own numbers)
    # The outbox of the DAYS: accepted by Spotler a second or few after, but the newest
    # WAITING (still to go) and FAILED ones spread over the days.
    f"""
    INSERT INTO sync_outboxentry (contact_id, external_id, kind, status, attempts, last_error,
        created_at, updated_at, accepted_at, claim)
    SELECT (SELECT min(id) FROM contacts_contact) + (i % {CONTACTS}), '', 'upsert',
        CASE WHEN i <= {WAITING} THEN 'pending'
             WHEN i % ({OUTBOX} / {FAILED}) = 0 THEN 'failed' ELSE 'done' END,
        1, '', now() - ((i::float / {OUTBOX}) * interval '{DAYS} days'), now(),
        CASE WHEN i <= {WAITING} OR i % ({OUTBOX} / {FAILED}) = 0 THEN NULL
             ELSE now() - ((i::float / {OUTBOX}) * interval '{DAYS} days')
                  + ((1 + i % 5) || ' seconds')::interval END,
        ''
    FROM generate_series(1, {OUTBOX}) AS i
    """,  # noqa: S608 (the module's own numbers)
    "VACUUM ANALYZE",
]


def seed() -> float:
    from django.core.management import call_command
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        for statement in SEED_SQL:
            cursor.execute(statement)
    call_command("setup_schedules", verbosity=0)
    return time.monotonic() - started


def admin_client():
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from spotlersync.roles import Role

    user = User.objects.create_user(username="bench-admin")
    user.groups.add(Group.objects.get(name=Role.ADMIN))
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


# name -> (query string, polled by htmx)
CASES = {
    "whole page (a first visit)": ("", False),
    "the figures it polls every 10 s": ("", True),
    "the hourly chart it polls every 5 min": ("part=chart", True),
}


def time_page(client, query: str, *, polled: bool) -> tuple[float, int]:
    """Median server time in ms over REQUESTS requests, and the queries one request makes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    url = f"/sync/health/?{query}"
    headers = {"HX-Request": "true"} if polled else {}
    with override_settings(DEBUG=False):
        for _ in range(WARMUP):
            assert client.get(url, headers=headers).status_code == 200
        times = []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url, headers=headers)
    return statistics.median(times), len(queries)


def run() -> list:
    from bench.figures import Figure

    set_up_fresh_database(DATABASE)
    seconds = seed()
    client = admin_client()
    note = (
        f"{REQUESTS} requests, PostgreSQL, {CONTACTS:,} contacts, {EVENTS:,} timeline events "
        f"and {OUTBOX:,} outbox entries over {DAYS} days (seeded in {seconds:.0f} s)"
    )
    figures = []
    for name, (query, polled) in CASES.items():
        median, queries = time_page(client, query, polled=polled)
        figures.append(
            Figure(f"health page, {name}: median server time", median, "ms", target=TARGET_MS,
                   higher_is_better=False, note=f"{note}; {queries} queries")
        )  # fmt: skip
    return figures
