"""Reconciling 10,000 contacts at 10 requests/s takes no longer than the limit forces (issue 17).

One `GET contact/{externalId}` per contact, at most 10 a second: 10,000 contacts cannot take
less than 1,000 s. The goal is to take no more than 10% longer.

Everything runs as in production, each part a process of its own on this machine: PostgreSQL
(a database of its own, made afresh), Redis as broker and cache, the sandbox
(`manage.py spotler_sandbox`) limited to 10 requests/s, and a queue cluster whose client keeps
to `SPOTLER_RATE_LIMIT=10`. The ledger holds the contacts as pushes left them, and the sandbox
the same; a few are made to drift (edited on Spotler's side, or never sent). The run is started
with `manage.py sync reconcile`, as an operator would, and works in slices on the queue.

Figures: the run's own time against the 1,000 s the limit forces (and the ratio, goal <= 1.10),
the time from the command to the run's end, calls answered 429, the busiest second's calls, and
whether exactly the drift made was found. BENCH_RECONCILE_CONTACTS sets the count (e.g. 1,000
for a quick check; the full run takes some 17 minutes).
"""

import os
import re
import secrets
import signal
import subprocess
import sys
import time

from bench.bench_backfill import manage, process
from bench.bench_sandbox import sandbox_command
from bench.database import database_url, set_up_fresh_database
from bench.figures import Figure

DB_NAME = "spotlersync_bench_reconcile"
REDIS_DB = int(os.environ.get("BENCH_RECONCILE_REDIS_DB", "9"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
CONTACTS = int(os.environ.get("BENCH_RECONCILE_CONTACTS", "10000"))
RATE = 10  # requests per second: the sandbox's limit and ours
GOAL = 1.10
EDITED_EVERY = 1000  # a recipient's edit on Spotler's side: a field that differs
NEVER_SENT = 5  # contacts in the ledger Spotler never received: missing
SECRET_KEY = secrets.token_urlsafe(50)


def external_id(n: int) -> str:
    return f"R{n:06d}"


def properties(n: int) -> dict:
    return {"email": f"r{n}@example.com", "firstName": "Anna", "lastName": f"Jansen-{n}"}


def seed_ledger(now) -> None:
    """The contacts as pushes left them: synced, with the state Spotler accepted."""
    from contacts.models import Contact, SyncStatus, hash_external_id
    from contacts.source_fields import hash_fields

    total = CONTACTS + NEVER_SENT
    for start in range(0, total, 5000):
        contacts = []
        for n in range(start, min(start + 5000, total)):
            fields = {"email": f"r{n}@example.com", "first_name": "Anna",
                      "last_name": f"Jansen-{n}", "newsletter": True}  # fmt: skip
            contacts.append(Contact(
                external_id=external_id(n), external_id_hash=hash_external_id(external_id(n)),
                fields=fields, fields_hash=hash_fields(fields), email=fields["email"],
                sync_status=SyncStatus.SYNCED, synced_at=now, pushed_changed_at=now,
                changed_at=now,
            ))  # fmt: skip
        Contact.objects.bulk_create(contacts)


def seed_sandbox(sandbox) -> None:
    """What the pushes sent (all but the last NEVER_SENT), then a few recipients' edits."""
    import spotler

    client = spotler.SpotlerClient(
        base_url=sandbox.base_url, consumer_key=sandbox.consumer_key,
        consumer_secret=sandbox.consumer_secret,
    )  # fmt: skip
    sandbox.set(rate_limit=0)
    for start in range(0, CONTACTS, 100):
        client.upsert_contacts(
            [spotler.Contact(external_id=external_id(n), properties=properties(n),
                             permissions={1: True})
             for n in range(start, min(start + 100, CONTACTS))],
            update=True, purge=False,
        )  # fmt: skip
    edits = [
        {"externalId": external_id(n), "properties": {"firstName": f"Anne {n}"}}
        for n in range(0, CONTACTS, EDITED_EVERY)
    ]
    sandbox.control("POST", "contacts/edits", {"edits": edits})
    sandbox.set(rate_limit=RATE)


def env(sandbox) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(DB_NAME),
        "REDIS_URL": REDIS_URL,
        "SPOTLER_BASE_URL": sandbox.base_url,
        "SPOTLER_RATE_LIMIT": str(RATE),
        "Q_WORKERS": "2",
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": SECRET_KEY,  # the cluster must read the tasks the command signs
    }


def reconcile(environment: dict[str, str]) -> tuple[int, float]:
    """`manage.py sync reconcile`, then wait for the run's end: (run id, seconds)."""
    from sync.models import SyncRun, SyncRunStatus

    started = time.monotonic()
    out = manage("sync", "reconcile", environment=environment)
    run_id = int(re.search(r"#(\d+)", out).group(1))
    while SyncRun.objects.get(pk=run_id).status in (SyncRunStatus.QUEUED, SyncRunStatus.RUNNING):
        time.sleep(0.5)
    return run_id, time.monotonic() - started


def calls(sandbox, endpoint: str) -> dict:
    return sandbox.requests().get(endpoint, {})


def busiest_second(sandbox, run) -> int:
    """The most API calls that arrived in one whole second while the run ran (the seeding's
    unlimited calls before it do not count)."""
    start, end = int(run.started_at.timestamp()), int(run.finished_at.timestamp())
    per_second = sandbox.requests_per_second()["per_second"]
    return max((n for second, n in per_second.items() if start <= int(second) <= end), default=0)


def run() -> list[Figure]:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "flushdb"], check=True, capture_output=True)
    with sandbox_command() as (sandbox, _pid):
        set_up_fresh_database(
            DB_NAME, redis_url=REDIS_URL, SPOTLER_BASE_URL=sandbox.base_url,
            SPOTLER_RATE_LIMIT=str(RATE), SECRET_KEY=SECRET_KEY,
        )  # fmt: skip
        from django.utils import timezone

        from identity.models import DriftFinding
        from mapping.catalogue import refresh_catalogue
        from sync.models import SyncRun

        sandbox.set(rate_limit=0)
        refresh_catalogue()
        seed_ledger(timezone.now())
        seed_sandbox(sandbox)
        environment = env(sandbox)
        loadavg = ", ".join(f"{v:.2f}" for v in os.getloadavg())
        with process([sys.executable, "manage.py", "qcluster"], environment):
            time.sleep(2)
            run_id, command_seconds = reconcile(environment)
        run = SyncRun.objects.get(pk=run_id)
        gets = calls(sandbox, "GET contact/{externalId}")
        busiest = busiest_second(sandbox, run)
        kinds = sorted(DriftFinding.objects.filter(run=run).values_list("kind", flat=True))
    seconds = (run.finished_at - run.started_at).total_seconds()
    made = CONTACTS + NEVER_SENT
    forced = made / RATE
    expected = ["fields"] * len(range(0, CONTACTS, EDITED_EVERY)) + ["missing"] * NEVER_SENT
    found = "exactly the drift made" if sorted(kinds) == sorted(expected) else (
        f"WRONG: {len(kinds)} findings, expected {len(expected)}"
    )  # fmt: skip
    answered = sum(gets.values())
    throttled = gets.get("429", 0)
    how = (
        f"{made:,} contacts, {answered:,} GET calls ({throttled} answered 429), at most "
        f"{busiest} calls in one second of the run; run {run.status}: {run.sent:,} in step, {run.failed} differ, "
        f"{found}; PostgreSQL, Redis, {os.cpu_count()} cores shared with the sandbox; load "
        f"average before: {loadavg}"
    )
    ok = run.status == "succeeded" and run.done == made and found == "exactly the drift made"
    return [
        Figure(f"reconcile {made:,} contacts at {RATE} requests/s", seconds, "s",
               note=f"the run's own time; the limit forces {forced:,.0f} s; {how}"
                    + ("" if ok else "; WRONG RESULT")),
        Figure("reconciliation time against the time the rate limit forces", seconds / forced,
               "x", target=GOAL, higher_is_better=False,
               note=f"{seconds:,.1f} s / {forced:,.0f} s"),
        Figure("from `sync reconcile` to the run's end", command_seconds, "s",
               higher_is_better=False, note="command, queue, slices of "
               "60 s each queuing the next"),
        Figure("calls answered 429 at 10 requests/s", 100 * throttled / max(answered, 1), "%",
               target=1, higher_is_better=False, note=f"{throttled} of {answered}"),
    ]  # fmt: skip
