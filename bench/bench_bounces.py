"""The bounce inbox on PostgreSQL (issue 12): the inbox with 10,000 follow-ups answers in a
median under 150 ms with a query count that does not grow with the page size, and the bounce
pull still applies 50,000 bounces in under 60 s.

Inbox: server time only (Django's test client in this process, as bench_contacts_list.py), over
10,000 follow-ups of five account managers, a third of them done over the last 12 weeks, so the
figures have work to do. Pull: a sandbox of its own (`manage.py spotler_sandbox`) holds 50,000
contacts, each with one bounce (four in five hard); timed is `sync.pull_bounces.pull_bounces`
over the window as the schedule runs it, with the production client and its shared rate limiter
(`SPOTLER_RATE_LIMIT`), every bounce stored, published, and opening or adding to a follow-up.
Run on its own: `make bench BENCH=bounces` (BENCH_BOUNCES=5000 for a quick look).
"""

import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests

from bench.bench_sandbox import sandbox_command
from bench.database import set_up_fresh_database
from bench.figures import Figure

DB_NAME = "spotlersync_bench_bounces"
FOLLOWUPS = 10_000
BOUNCES = int(os.environ.get("BENCH_BOUNCES", "50000"))
REQUESTS = 20
WARMUP = 3
INBOX_TARGET_MS = 150
PULL_TARGET_SECONDS = 60
MANAGERS = ["manager.a", "manager.b", "manager.c", "manager.d", "manager.e"]
HARD_EVERY = 5  # four in five bounces are hard: every fifth is soft


def make_users() -> dict:
    from django.contrib.auth.models import Group, User

    from spotlersync.roles import Role

    group = Group.objects.get(name=Role.ACCOUNT_MANAGER)
    users = {}
    for name in MANAGERS:
        users[name] = User.objects.create_user(username=name, email=f"{name}@shop.example")
        users[name].groups.add(group)
    admin = User.objects.create_user(username="boss")
    admin.groups.add(Group.objects.get(name=Role.ADMIN))
    return {**users, "boss": admin}


def seed_followups(users: dict) -> None:
    from django.utils import timezone

    from bounces.followups import add_working_days
    from bounces.models import Bounce, FollowUp, Resolution
    from contacts.models import Contact, SyncStatus, hash_external_id

    now = timezone.now()
    contacts = [
        Contact(external_id=f"I-{n:05d}", external_id_hash=hash_external_id(f"I-{n:05d}"),
                fields={"email": f"i{n}@example.nl", "first_name": "Anna",
                        "account_manager": MANAGERS[n % 5]},
                email=f"i{n}@example.nl", account_manager=MANAGERS[n % 5],
                sync_status=SyncStatus.SYNCED, changed_at=now)
        for n in range(FOLLOWUPS)
    ]  # fmt: skip
    contacts = Contact.objects.bulk_create(contacts, batch_size=2000)
    resolutions = Resolution.values
    followups = []
    for n, contact in enumerate(contacts):
        opened = now - timedelta(hours=n % (84 * 24))
        f = FollowUp(
            contact=contact, owner=users[MANAGERS[n % 5]], kind="hard" if n % 5 else "soft",
            email=contact.email, opened_at=opened, due_at=add_working_days(opened, 5),
            bounce_count=1, last_bounce_at=opened,
        )  # fmt: skip
        if n % 3 == 0:
            f.state, f.resolution = "done", resolutions[n % len(resolutions)]
            f.resolved_at = min(now, opened + timedelta(hours=1 + n % 200))
        elif n % 3 == 1:
            f.state = "in_progress"
        followups.append(f)
    followups = FollowUp.objects.bulk_create(followups, batch_size=2000)
    Bounce.objects.bulk_create(
        [Bounce(contact=f.contact, external_id=f.contact.external_id,
                external_id_hash=f.contact.external_id_hash, email=f.email, kind=f.kind,
                bounced_at=f.opened_at, followup=f) for f in followups],
        batch_size=2000,
    )  # fmt: skip


def time_inbox(client, path: str) -> tuple[float, int]:
    """(median ms, queries) of GET `path`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(WARMUP):
        assert client.get(path).status_code == 200
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    return statistics.median(times), len(queries)


def queries_for_page_size(client, size: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bounces import inbox

    saved, inbox.PAGE_SIZE = inbox.PAGE_SIZE, size
    try:
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/bounces/?state=all")
        assert response.content.decode().count('data-testid="followup-row"') == size
    finally:
        inbox.PAGE_SIZE = saved
    return len(queries)


def measure_inbox(users: dict) -> list[Figure]:
    from django.test import Client

    from contacts.models import Contact

    figures = []
    cases = [("Admin, everyone's, first page", "boss", "/bounces/"),
             ("Admin, overdue filter", "boss", "/bounces/?overdue=on&state=unresolved"),
             ("Admin, all states, page 20", "boss", "/bounces/?state=all&page=20"),
             ("Account manager, own follow-ups", "manager.c", "/bounces/")]  # fmt: skip
    for label, username, path in cases:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(users[username])
        median, queries = time_inbox(client, path)
        figures.append(Figure(
            f"bounce inbox, {label}: median server time", median, "ms", target=INBOX_TARGET_MS,
            higher_is_better=False,
            note=f"{REQUESTS} requests, PostgreSQL, {FOLLOWUPS:,} follow-ups, "
                 f"{Contact.objects.count():,} contacts, {queries} queries",
        ))  # fmt: skip
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(users["boss"])
    small, large = queries_for_page_size(client, 10), queries_for_page_size(client, 200)
    figures.append(Figure(
        "bounce inbox queries, 200 rows a page minus 10 rows a page", large - small, "queries",
        target=0, higher_is_better=False, note=f"{small} queries at 10 rows, {large} at 200",
    ))  # fmt: skip
    return figures


def seed_sandbox(sandbox) -> None:
    """The contacts, pushed as the push would, and one bounce each."""
    import spotler

    client = spotler.SpotlerClient(
        base_url=sandbox.base_url,
        consumer_key=sandbox.consumer_key,
        consumer_secret=sandbox.consumer_secret,
    )
    sandbox.set(rate_limit=0)
    for start in range(0, BOUNCES, 100):
        client.upsert_contacts(
            [spotler.Contact(external_id=f"B-{n:06d}", properties={"email": f"b{n}@example.nl"})
             for n in range(start, min(start + 100, BOUNCES))],
            update=True, purge=False,
        )  # fmt: skip
    session = requests.Session()
    url = f"{sandbox.url}/_sandbox/contacts"

    def bounce(n: int) -> None:
        kind = "SOFTBOUNCE" if n % HARD_EVERY == 0 else "HARDBOUNCE"
        session.post(f"{url}/B-{n:06d}/bounce", json={"type": kind}, timeout=10).raise_for_status()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(bounce, range(BOUNCES)))
    sandbox.set(rate_limit=10)


def seed_bounced_contacts() -> None:
    from django.utils import timezone

    from contacts.models import Contact, SyncStatus, hash_external_id

    now = timezone.now()
    for start in range(0, BOUNCES, 5000):
        Contact.objects.bulk_create([
            Contact(external_id=f"B-{n:06d}", external_id_hash=hash_external_id(f"B-{n:06d}"),
                    fields={"email": f"b{n}@example.nl", "account_manager": MANAGERS[n % 5]},
                    email=f"b{n}@example.nl", account_manager=MANAGERS[n % 5],
                    sync_status=SyncStatus.SYNCED, synced_at=now, changed_at=now)
            for n in range(start, min(start + 5000, BOUNCES))
        ])  # fmt: skip


def measure_pull(began) -> list[Figure]:
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from bounces.models import Bounce, FollowUp
    from sync import pull_bounces

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    before = FollowUp.objects.count()
    loadavg = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    since, until = began - timedelta(minutes=1), timezone.now() + timedelta(seconds=1)
    started = time.monotonic()
    run = pull_bounces.pull_bounces(since=since, until=until)
    seconds = time.monotonic() - started
    opened = FollowUp.objects.count() - before
    stored = Bounce.objects.filter(external_id__startswith="B-").count()
    size = settings.SYNC_PULL_BOUNCES_PAGE_SIZE
    pages = -(-BOUNCES // size)
    ok = run.status == "succeeded" and stored == BOUNCES and opened == BOUNCES - BOUNCES // 5
    check = (
        "" if ok else f"; WRONG RESULT: {run.status} {run.error} stored {stored} opened {opened}"
    )
    return [Figure(
        f"bounce pull: {BOUNCES:,} bounces read, stored, published and followed up", seconds, "s",
        target=PULL_TARGET_SECONDS, higher_is_better=False,
        note=f"pages of {size} ({pages} calls) at "
             f"{settings.SPOTLER_RATE_LIMIT:g} calls/s, PostgreSQL, {os.cpu_count()} cores shared "
             f"with the sandbox; load average before: {loadavg}; {opened:,} follow-ups opened"
             f"{check}",
    )]  # fmt: skip


def run() -> list[Figure]:
    with sandbox_command() as (sandbox, _pid):
        set_up_fresh_database(DB_NAME, SPOTLER_BASE_URL=sandbox.base_url)
        from django.db import connection
        from django.utils import timezone

        users = make_users()
        seed_followups(users)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        figures = measure_inbox(users)
        began = timezone.now()
        seed_bounced_contacts()
        seed_sandbox(sandbox)
        figures += measure_pull(began)
    return figures
