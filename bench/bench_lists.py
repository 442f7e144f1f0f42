"""Temporary lists on PostgreSQL (issue 13): a list of 100,000 contacts, all in Spotler already,
is complete in the sandbox limited to 10 requests/s in under 60 s with the worker's peak memory
under 300 MB; the selection preview over a ledger of 100,000 contacts answers in a median
under 1 s.

Every part a process of its own on this machine, as in production: PostgreSQL (a database of
the benchmark's own, made afresh), Redis as broker and cache, the sandbox (`manage.py
spotler_sandbox`) and a queue cluster (`manage.py qcluster`, DEBUG off) that sends the list.

Send: the ledger holds 100,000 contacts (languages, account managers, purchase dates, a
`newsletter` permission field), every one synced and in the sandbox. Their selection (no
filter: the whole ledger) goes to `lists.budget.create_list` in this process, as the page does;
timed is that call to the list's COMPLETE, which the cluster reaches sending the contacts in
chunks. Our client waits for the shared rate limiter (`SPOTLER_RATE_LIMIT` = 10 calls/s) and the
sandbox answers 429 above 10 requests/s, so both limits are on. Then the sandbox's list is
checked to hold exactly the 100,000 ids, and its request counts say what was called.

Preview: the same ledger, then made realistic: some contacts inactive, anonymized, erased,
unsubscribed (`newsletter` off), not yet pushed or failed to push. Timed is
`lists.selection.select_contacts` for typical filters, and the page `GET /lists/new/?...`
(Django's test client in this process, logged in as a Marketer: server time, without a network
or browser; the page also asks Spotler for the budget through the rate limiter, so a page
waits up to 1/10 s for its slot, and pages asked one after another end on the limiter's
100 ms steps). Filters the code does not have yet (`SelectionFilters` fields) are skipped and
said so.

Run on its own: `make bench BENCH=lists`. BENCH_LISTS_DB (default spotlersync_bench_lists) and
BENCH_LISTS_REDIS_DB (default 7) choose the database and the Redis database (flushed first).
"""

import dataclasses
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

from bench.bench_backfill import process, session_memory_peak
from bench.bench_sandbox import sandbox_command
from bench.database import set_up_fresh_database
from bench.figures import Figure

DB_NAME = os.environ.get("BENCH_LISTS_DB", "spotlersync_bench_lists")
REDIS_DB = int(os.environ.get("BENCH_LISTS_REDIS_DB", "7"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
CONTACTS = int(os.environ.get("BENCH_LISTS_CONTACTS", "100000"))
RATE_LIMIT = 10  # requests/s, the sandbox's and our limiter's
SEND_TARGET_SECONDS = 60
MEMORY_TARGET_MB = 300
PREVIEW_TARGET_MS = 1000
RUNS = 7
SEND_TIMEOUT_SECONDS = 300
SANDBOX_BATCH = 100  # contacts per `POST contact/list` while seeding
SECRET_KEY = secrets.token_urlsafe(50)
SEED = 13

FIRST_NAMES = ["Anna", "Bram", "Chloé", "Dirk", "Eva", "Femke", "Gert", "Hanna", "Ivo", "Jasper"]
LAST_NAMES = ["Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "Müller", "Dubois"]
LANGUAGES = [("nl", 55), ("de", 20), ("en", 12), ("fr", 8), ("nl-BE", 4), ("", 1)]
CITIES = [("Utrecht", 10), ("Amsterdam", 25), ("Rotterdam", 15), ("Berlin", 10),
          ("Antwerpen", 8), ("Gent", 5), ("Köln", 7), ("Paris", 5), ("Zwolle", 15)]  # fmt: skip
COMPANIES = ["Bakkerij de Molen", "Fietsenwinkel Smit", "Bloemenhuis", "Kaashandel Visser",
             "Café Centraal", ""]  # fmt: skip
MANAGERS = [f"Manager {chr(65 + i)}" for i in range(25)] + [""]
# The ledger made realistic for the preview: every n-th contact (by number) is ...
INACTIVE_EVERY = 40
ANONYMIZED_EVERY = 97
ERASED_EVERY = 199
UNSUBSCRIBED_EVERY = 9  # newsletter off
PENDING_EVERY = 13  # not pushed yet
FAILED_EVERY = 53  # its push failed


def external_id(n: int) -> str:
    return f"C-{n:06d}"


def weighted(rng: random.Random, choices: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in choices], weights=[w for _, w in choices])[0]


def seed_ledger(now: datetime) -> None:
    """CONTACTS customers, every one synced to Spotler, with a newsletter permission on."""
    from contacts.models import Contact, SyncStatus, hash_external_id
    from contacts.source_fields import hash_fields

    rng = random.Random(SEED)
    for start in range(0, CONTACTS, 5000):
        contacts = []
        for n in range(start, min(start + 5000, CONTACTS)):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first.lower()}.{last.lower().replace(' ', '')}{n}@example.com"
            language, manager = weighted(rng, LANGUAGES), rng.choice(MANAGERS)
            first_purchase = now - timedelta(days=rng.randrange(30, 3000))
            last_purchase = min(now, first_purchase + timedelta(days=rng.randrange(0, 1500)))
            fields = {
                "email": email, "first_name": first, "last_name": last, "language": language,
                "city": weighted(rng, CITIES), "company": rng.choice(COMPANIES),
                "phone": "" if n % 3 else f"+31 6 {n:08d}", "account_manager": manager,
                "customer_type": "wholesale" if n % 7 == 0 else "retail", "newsletter": True,
            }  # fmt: skip
            contacts.append(Contact(
                external_id=external_id(n), external_id_hash=hash_external_id(external_id(n)),
                fields=fields, fields_hash=hash_fields(fields), email=email, language=language,
                account_manager=manager, first_purchase_at=first_purchase,
                last_purchase_at=last_purchase, sync_status=SyncStatus.SYNCED,
                synced_at=now, changed_at=now,
            ))  # fmt: skip
        Contact.objects.bulk_create(contacts)


def seed_sandbox(sandbox) -> None:
    """The same contacts in Spotler (the sandbox's limit off while it fills)."""
    import spotler

    client = spotler.SpotlerClient(
        base_url=sandbox.base_url,
        consumer_key=sandbox.consumer_key,
        consumer_secret=sandbox.consumer_secret,
    )
    sandbox.set(rate_limit=0)
    for start in range(0, CONTACTS, SANDBOX_BATCH):
        client.upsert_contacts(
            [spotler.Contact(external_id=external_id(n),
                             properties={"email": f"c{n}@example.com"}, permissions={1: True})
             for n in range(start, min(start + SANDBOX_BATCH, CONTACTS))],
            update=True, purge=False,
        )  # fmt: skip
    sandbox.set(rate_limit=RATE_LIMIT)


def load_average() -> str:
    """The machine is shared: what else ran says how far a figure is this code's own."""
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def calls_between(before: dict, after: dict) -> dict[str, dict[str, int]]:
    """Requests the sandbox answered between two reads of its counts, per endpoint and status."""
    made = {}
    for endpoint, statuses in after.items():
        for status, count in statuses.items():
            more = count - before.get(endpoint, {}).get(status, 0)
            if more:
                made.setdefault(endpoint, {})[status] = more
    return made


def worker_env() -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "False",
        "SECURE_SSL_REDIRECT": "False",
        "LOG_LEVEL": "WARNING",
        # django-q2 signs tasks with the key: the cluster drops a task signed with another.
        "SECRET_KEY": SECRET_KEY,
    }


def wait_for_end(list_pk: int) -> tuple[str, float]:
    """Poll the list until it is complete or failed: (state, seconds waited)."""
    from lists.models import TempList, TempListState

    started = time.monotonic()
    while time.monotonic() - started < SEND_TIMEOUT_SECONDS:
        state = TempList.objects.values_list("state", flat=True).get(pk=list_pk)
        if state in (TempListState.COMPLETE, TempListState.FAILED):
            return state, time.monotonic() - started
        time.sleep(0.05)
    return "timed out", time.monotonic() - started


def measure_send(sandbox) -> list[Figure]:
    from lists import budget
    from lists.models import TempList
    from lists.selection import SelectionFilters, select_contacts

    started = time.monotonic()
    selection = select_contacts(SelectionFilters())
    selected_in = time.monotonic() - started
    with process([sys.executable, "manage.py", "qcluster"], worker_env(),
                 log="lists-cluster.log") as cluster:  # fmt: skip
        time.sleep(3)  # the cluster starts its workers
        before = sandbox.requests()
        started = time.monotonic()
        made = budget.create_list(
            name="Bench: everyone", contact_ids=selection.ids, left_out=selection.left_out,
            filters={},
        )  # fmt: skip
        created_in = time.monotonic() - started
        state, _ = wait_for_end(made.pk)
        seconds = time.monotonic() - started
        peak = session_memory_peak(cluster.pid)
    calls = calls_between(before, sandbox.requests())
    made = TempList.objects.get(pk=made.pk)
    held = next(
        (t["contacts"] for t in sandbox.state()["templists"]
         if t["externalTemporaryListId"] == made.spotler_id),
        None,
    )  # fmt: skip
    expected = {external_id(n) for n in range(CONTACTS)}
    exact = held is not None and len(held) == CONTACTS and set(held) == expected
    total = sum(sum(c.values()) for c in calls.values())
    throttled = sum(c.get("429", 0) for c in calls.values())
    by_endpoint = "; ".join(
        f"{endpoint} " + ", ".join(f"{n}x{status}" for status, n in sorted(statuses.items()))
        for endpoint, statuses in sorted(calls.items())
    )
    verdict = (
        f"the sandbox's list holds exactly the {CONTACTS:,} ids"
        if exact
        else f"WRONG RESULT: list {state} ({made.error or 'no error'}), sent {made.checkpoint:,}, "
        f"the sandbox holds {'no such list' if held is None else f'{len(held):,} ids'}"
    )
    how = (
        f"{selection.size:,} contacts, chunks of {_chunk_size():,}, Spotler and our limiter at "
        f"{RATE_LIMIT} requests/s, 1 cluster of {worker_workers()} workers, PostgreSQL, Redis "
        f"broker, {os.cpu_count()} cores shared with the sandbox; create_list took "
        f"{created_in:.2f} s; load average before: {load_average()}"
    )
    return [
        Figure(f"selection of the whole ledger ({CONTACTS:,} contacts) for the list",
               selected_in * 1000, "ms", higher_is_better=False,
               note=f"select_contacts with no filter, {selection.size:,} selected"),
        Figure(f"list of {CONTACTS:,} contacts, create_list to COMPLETE in the sandbox",
               seconds, "s", target=SEND_TARGET_SECONDS, higher_is_better=False,
               note=f"{how}; ended {state}"),
        Figure("list sending: peak memory, largest cluster process", peak, "MB",
               target=MEMORY_TARGET_MB, higher_is_better=False),
        Figure(f"Spotler requests for the list of {CONTACTS:,}", total, "requests",
               higher_is_better=False,
               note=f"{total / max(seconds, 1e-9):.1f} requests/s over the send, "
                    f"{throttled} answered 429; {by_endpoint}"),
        Figure(f"calls answered 429 at {RATE_LIMIT} requests/s, making and sending the list",
               100 * throttled / max(total, 1), "%", target=1, higher_is_better=False,
               note=f"{throttled} of {total}"),
        Figure("the sandbox's list holds exactly the selected ids", 1.0 if exact else 0.0,
               "yes", target=1, note=verdict),
    ]  # fmt: skip


def _chunk_size() -> int:
    from lists import send

    return send.CHUNK_SIZE


def worker_workers() -> int:
    from django.conf import settings

    return settings.Q_CLUSTER["workers"]


def make_realistic(now: datetime) -> dict[str, int]:
    """Some contacts inactive, anonymized, erased, unsubscribed, not pushed, failed; counts."""
    from django.db import connection

    from contacts.models import Contact, SyncStatus

    table = Contact._meta.db_table
    # Contact numbers are their external ids' (C-000042 is 42); by pk would do as well.
    number = "CAST(substring(external_id from 3) AS integer)"
    changes = {
        "inactive": (INACTIVE_EVERY, "inactivated_at = %s, sync_status = %s",
                     [now, SyncStatus.INACTIVE]),
        "anonymized": (ANONYMIZED_EVERY, "sync_status = %s", [SyncStatus.ANONYMIZED]),
        "erased": (ERASED_EVERY, "erased_at = %s", [now]),
        "unsubscribed": (UNSUBSCRIBED_EVERY,
                         "fields = jsonb_set(fields, '{newsletter}', 'false'::jsonb)", []),
        "pending": (PENDING_EVERY, "synced_at = NULL, sync_status = %s", [SyncStatus.PENDING]),
        "failed": (FAILED_EVERY, "synced_at = NULL, sync_status = %s", [SyncStatus.FAILED]),
    }  # fmt: skip
    counts = {}
    with connection.cursor() as cursor:
        for name, (every, assignments, params) in changes.items():
            cursor.execute(
                f"UPDATE {table} SET {assignments} WHERE {number} %% %s = 0",  # noqa: S608
                [*params, every],
            )
            counts[name] = cursor.rowcount
    return counts


def filter_cases() -> tuple[list[tuple[str, dict]], list[str]]:
    """(label, SelectionFilters arguments) the code in place can take; labels skipped."""
    from lists.selection import SelectionFilters

    known = {f.name: f for f in dataclasses.fields(SelectionFilters)}

    def as_date(name: str, value: date):
        # The lead's new fields may be text (as a form sends them) or dates.
        return value.isoformat() if "str" in str(known[name].type) else value

    today = datetime.now(UTC).date()
    wanted = [
        ("language nl", {"language": "nl"}),
        ("source field equals (city = Utrecht)",
         {"source_field": "city", "operator": "equals", "value": "Utrecht"}),
        ("source field contains (company contains 'bakker')",
         {"source_field": "company", "operator": "contains", "value": "bakker"}),
        ("source field is empty (phone)", {"source_field": "phone", "operator": "empty"}),
        ("no filter (the whole ledger)", {}),
        ("last purchase in the last 365 days",
         {"last_purchase_from": today - timedelta(days=365),
          "last_purchase_to": today}),
        ("first purchase in 2020", {"first_purchase_from": date(2020, 1, 1),
                                    "first_purchase_to": date(2020, 12, 31)}),
        ("account manager (Manager K)", {"account_manager": "Manager K"}),
        ("language de, last purchase in the last 365 days, account manager",
         {"language": "de", "last_purchase_from": today - timedelta(days=365),
          "account_manager": "Manager K"}),
    ]  # fmt: skip
    cases, skipped = [], []
    for label, arguments in wanted:
        if set(arguments) - set(known):
            skipped.append(label)
            continue
        cases.append((label, {k: as_date(k, v) if isinstance(v, date) else v
                              for k, v in arguments.items()}))  # fmt: skip
    return cases, skipped


def timed(call, runs: int = RUNS) -> tuple[float, float, object]:
    """(median s, p95 s, last result) of `runs` calls after one warm-up call."""
    result = call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return (
        statistics.median(times),
        statistics.quantiles(times, n=20, method="inclusive")[-1],
        result,
    )


def marketer():
    from django.contrib.auth.models import Group, User

    from spotlersync.roles import Role

    user = User.objects.create_user(username="marketer")
    user.groups.add(Group.objects.get(name=Role.MARKETER))
    return user


def measure_preview(counts: dict[str, int]) -> list[Figure]:
    from django.test import Client

    from lists.selection import SelectionFilters, select_contacts

    figures = []
    cases, skipped = filter_cases()
    made = ", ".join(f"{n:,} {name}" for name, n in counts.items())
    load = load_average()
    for label, arguments in cases:
        filters = SelectionFilters(**arguments)
        median, p95, selection = timed(lambda f=filters: select_contacts(f))
        left_out = sum(selection.left_out.values())
        figures.append(Figure(
            f"select_contacts over {CONTACTS:,}, {label}: median", median * 1000, "ms",
            higher_is_better=False,
            note=f"p95 {p95 * 1000:.0f} ms over {RUNS} runs; {selection.size:,} selected, "
                 f"{left_out:,} left out, {selection.not_in_spotler:,} not in Spotler yet; "
                 f"load average before the preview figures: {load}",
        ))  # fmt: skip
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(marketer())
    pages = [("language nl", "language=nl"),
             ("source field contains", "source_field=company&operator=contains&value=bakker")]  # fmt: skip
    for label, query in pages:

        def get(query=query):
            response = client.get(f"/lists/new/?{query}")
            if response.status_code != 200:
                raise RuntimeError(f"GET /lists/new/?{query} answered {response.status_code}")
            return response

        median, p95, _ = timed(get)
        figures.append(Figure(
            f"selection preview page over {CONTACTS:,}, {label}: median", median * 1000, "ms",
            target=PREVIEW_TARGET_MS, higher_is_better=False,
            note=f"GET /lists/new/?{query} as a Marketer, server time (test client), "
                 f"p95 {p95 * 1000:.0f} ms over {RUNS} runs, PostgreSQL; ledger: {made}; "
                 f"load average before the preview figures: {load}",
        ))  # fmt: skip
    if skipped:
        print(f"  filters the code does not have yet, not measured: {'; '.join(skipped)}")
    return figures


def run() -> list[Figure]:
    # A SIGTERM (a timeout, Ctrl-C in make) must still stop the processes started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "flushdb"], check=True, capture_output=True)
    with sandbox_command() as (sandbox, _pid):
        set_up_fresh_database(
            DB_NAME, redis_url=REDIS_URL, SPOTLER_BASE_URL=sandbox.base_url,
            SPOTLER_RATE_LIMIT=str(RATE_LIMIT), SECRET_KEY=SECRET_KEY,
        )  # fmt: skip
        from mapping.catalogue import refresh_catalogue
        from mapping.current import mapping_in_force

        now = datetime.now(UTC)
        seeding = time.monotonic()
        seed_ledger(now - timedelta(seconds=1))
        seed_sandbox(sandbox)
        refresh_catalogue()
        analyze()
        print(f"  seeded {CONTACTS:,} contacts in the ledger and the sandbox in "
              f"{time.monotonic() - seeding:.0f} s; permission fields: "
              f"{[name for _bit, name in mapping_in_force().permission_sources]}", flush=True)  # fmt: skip
        figures = measure_send(sandbox)
        print(f"  list sent: {figures[1]}", flush=True)
        counts = make_realistic(now)
        analyze()
        preview = measure_preview(counts)
    return figures + preview
