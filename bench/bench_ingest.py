"""The ingest API under load, measured against yardsticks in the same run (issues 4 and 11).

The server is the real thing: `gunicorn spotlersync.wsgi -w 2` with DEBUG off, PostgreSQL (a
database of its own, `spotlersync_bench_ingest`, made afresh each run) and Redis for the cache
(tokens, push requests). Its settings (`bench/ingest_settings.py`) add, for the benchmark only,
the reference endpoints of `bench/ingest_reference.py` (the least an ingest PUT or batch must
do; a bare django-ninja endpoint; the token check alone) and a middleware that answers each
request with the CPU it cost the server (the gunicorn worker's and its PostgreSQL backend's,
from /proc, in nanoseconds) and the SQL statements it sent.

Client processes call it with keep-alive sessions and a write token made by `manage.py
create_api_token`, every kind of call *interleaved* in the same window: the window is cut into
short slots and all clients send the slot's kind, kind after kind, round and round. Load from
the rest of a shared machine then falls on every kind alike, so the ratios (real ÷ reference)
hold from run to run even when the absolute figures do not. A kind's rate is its items over
the time clients spent waiting for it (sum of latencies ÷ clients). A poller reads the CPU of
gunicorn and of the database's backends every 0.2 s, as a check on the per-request reports
(the rest is gunicorn's HTTP handling, outside Django).

Then, one call at a time: the Redis commands each kind of call sends (Redis `MONITOR`, on the
benchmark's own Redis database), and a cProfile of the real PUT and batch in this process.

The per-token rate limit counts every call, as in production, but its limit is set too high to
refuse any (it would stop a single token at 6,000 calls a minute by design).
"""

import contextlib
import cProfile
import json
import multiprocessing
import os
import pstats
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.database import set_up_fresh_database
from bench.figures import Figure

ROOT = Path(__file__).resolve().parents[1]
# Overridable, so benchmarks run side by side (e.g. from several worktrees) stay apart.
DB_NAME = os.environ.get("BENCH_INGEST_DATABASE", "spotlersync_bench_ingest")
REDIS_DB = int(os.environ.get("BENCH_INGEST_REDIS_DB", "12"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
# The setting (one sync worker per core); BENCH_GUNICORN_WORKERS tries others.
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "2"))
CLIENTS = 4  # client processes; each keeps one session open
GUNICORN_ARGS = os.environ.get("BENCH_GUNICORN_ARGS", "").split()
# Seconds per window, and per slot of one kind within it.
SINGLE_SECONDS = float(os.environ.get("BENCH_SINGLE_SECONDS", "35"))
SINGLE_SLOT = 0.5
BATCH_SECONDS = float(os.environ.get("BENCH_BATCH_SECONDS", "45"))
BATCH_SLOT = 3.0
BATCH = 1000
POOL = 500  # contacts per client that the "changed" and "replay" PUTs cycle through
BATCH_POOL = 2  # batches per client that the "changed" and "replay" batches cycle through
PUT_RATIO_TARGET = 1.5
BATCH_RATIO_TARGET = 2.0
PUT_TARGET = 300  # upserts/s, on a quiet machine
BATCH_TARGET = 3000  # contacts/s, on a quiet machine

REAL = "/api/v1"
REFERENCE = "/bench/v1"
SINGLE_KINDS = [
    "bare", "token", "ref-put-new", "put-new", "ref-put-changed", "put-changed", "put-replay",
]  # fmt: skip
BATCH_KINDS = ["ref-batch-new", "batch-new", "ref-batch-changed", "batch-changed", "batch-replay"]
DESCRIPTION = {
    "bare": "bare django-ninja endpoint",
    "token": "token check only",
    "ref-put-new": "reference PUT, new contact",
    "put-new": "PUT, new contact",
    "ref-put-changed": "reference PUT, changed contact",
    "put-changed": "PUT, changed contact",
    "put-replay": "PUT, replay (nothing changes)",
    "ref-batch-new": "reference batch of 1,000, new contacts",
    "batch-new": "batch of 1,000, new contacts",
    "ref-batch-changed": "reference batch of 1,000, changed contacts",
    "batch-changed": "batch of 1,000, changed contacts",
    "batch-replay": "batch of 1,000, replays",
}


def server_env() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.ingest_settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        "REDIS_URL": REDIS_URL,
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "False",
        "ALLOWED_HOSTS": "127.0.0.1",
        # The per-token rate limit counts every call, as in production, but never refuses one.
        "API_RATE_LIMIT": str(10**9),
        "LOG_LEVEL": "WARNING",
    }


def create_token() -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "create_api_token", "bench-ingest"],
        cwd=ROOT, env=server_env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn(token: str) -> Iterator[tuple[str, int]]:
    """The web server in its own process group; yields its base URL and its master's pid."""
    port = free_port()
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "spotlersync.wsgi", "-w", str(GUNICORN_WORKERS),
         "-b", f"127.0.0.1:{port}", "--timeout", "60", *GUNICORN_ARGS],
        cwd=ROOT, env=server_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url, token)
        yield base_url, process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def wait_until_up(base_url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(f"{base_url}{REFERENCE}/token", headers=headers, timeout=5).ok:
                return
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer within 60 s")


# --- what each kind of call sends ------------------------------------------------------------


def contact(external_id: str, n: int, last_name: str | None = None) -> dict:
    return {
        "email": f"{external_id.lower()}@example.com",
        "first_name": ("Anna", "Bram", "Chloé", "Dirk")[n % 4],
        "last_name": last_name or f"Jansen-{n}",
        "language": ("nl", "de", "en")[n % 3],
        "newsletter": n % 2 == 0,
        "account_manager": "jan@shop.example",
        "city": "Utrecht",
        "customer_since": "2024-05-01",
    }


def batch_body(prefix: str, last_name: str | None = None) -> bytes:
    items = [{"external_id": f"{prefix}-{i}", **contact(f"{prefix}-{i}", i, last_name)}
             for i in range(BATCH)]  # fmt: skip
    return json.dumps({"contacts": items}).encode()


def request_for(kind: str, worker: int, n: int) -> tuple[str, str, bytes | None]:
    """Method, path and body of call number `n` of `kind` from client `worker`."""
    if kind == "bare":
        return "GET", f"{REFERENCE}/bare", None
    if kind == "token":
        return "GET", f"{REFERENCE}/token", None
    if kind.startswith(("put", "ref-put")):
        prefix = REFERENCE if kind.startswith("ref-") else REAL
        event = kind.rsplit("-", 1)[1]
        if event == "new":
            external_id = f"{kind}-{worker}-{n}"
            return "PUT", f"{prefix}/contacts/{external_id}", json.dumps(contact(external_id, n))
        i, rounds = n % POOL, n // POOL + 1
        external_id = f"{kind}-{worker}-{i}"
        last_name = f"Changed {rounds}" if event == "changed" else None
        body = json.dumps(contact(external_id, i, last_name))
        return "PUT", f"{prefix}/contacts/{external_id}", body
    prefix = REFERENCE if kind.startswith("ref-") else REAL
    event = kind.rsplit("-", 1)[1]
    if event == "new":
        return "POST", f"{prefix}/contacts/batch", batch_body(f"{kind}-{worker}-{n}")
    b, rounds = n % BATCH_POOL, n // BATCH_POOL + 1
    last_name = f"Changed {rounds}" if event == "changed" else None
    return "POST", f"{prefix}/contacts/batch", batch_body(f"{kind}-{worker}-{b}", last_name)


def seed_pools(base_url: str, token: str) -> None:
    """The contacts the "changed" and "replay" calls find: made first, as their calls send them."""
    session = authorized_session(token)
    for worker in range(CLIENTS):
        for kind in ("put-changed", "put-replay", "ref-put-changed"):
            prefix = REFERENCE if kind.startswith("ref-") else REAL
            body = batch_body(f"{kind}-{worker}")  # items 0..POOL-1 are the pool
            session.post(f"{base_url}{prefix}/contacts/batch", data=body).raise_for_status()
        for kind in ("batch-changed", "batch-replay", "ref-batch-changed"):
            prefix = REFERENCE if kind.startswith("ref-") else REAL
            for b in range(BATCH_POOL):
                body = batch_body(f"{kind}-{worker}-{b}")
                session.post(f"{base_url}{prefix}/contacts/batch", data=body).raise_for_status()


def authorized_session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    session.headers["Content-Type"] = "application/json"
    return session


# --- the mixed window ------------------------------------------------------------------------


@dataclass
class Tally:
    calls: int = 0
    items: int = 0
    failed: int = 0
    latency: float = 0.0  # seconds, summed over calls
    python_ns: int = 0
    postgres_ns: int = 0
    statements: Counter = field(default_factory=Counter)

    def add(self, other: "Tally") -> None:
        self.calls += other.calls
        self.items += other.items
        self.failed += other.failed
        self.latency += other.latency
        self.python_ns += other.python_ns
        self.postgres_ns += other.postgres_ns
        self.statements.update(other.statements)


@dataclass(frozen=True)
class Window:
    kinds: list[str]
    slot: float
    seconds: float
    start_at: float


def client(base_url: str, token: str, window: Window, worker: int) -> dict[str, Tally]:
    """One client process: the slot's kind of call, again and again, until the window ends."""
    session = authorized_session(token)
    tallies = {kind: Tally() for kind in window.kinds}
    sent = Counter()
    time.sleep(max(0.0, window.start_at - time.time()))
    end = window.start_at + window.seconds
    while (now := time.time()) < end:
        kind = window.kinds[int((now - window.start_at) // window.slot) % len(window.kinds)]
        method, path, body = request_for(kind, worker, sent[kind])
        sent[kind] += 1
        started = time.perf_counter()
        response = session.request(method, base_url + path, data=body, timeout=120)
        record(tallies[kind], response, latency=time.perf_counter() - started)
    return tallies


def record(tally: Tally, response: requests.Response, *, latency: float) -> None:
    tally.calls += 1
    tally.latency += latency
    python_ns, postgres_ns = map(int, response.headers.get("X-Bench-Cpu-Ns", "0 0").split())
    tally.python_ns += python_ns
    tally.postgres_ns += postgres_ns
    tally.statements[response.headers.get("X-Bench-Statements", "")] += 1
    if response.status_code not in (200, 202):
        tally.failed += 1
        return
    accepted = response.json().get("accepted") if "batch" in response.url else 1
    tally.items += accepted
    tally.failed += (BATCH - accepted) if "batch" in response.url else 0


class CpuPoller(threading.Thread):
    """Every 0.2 s, the CPU used so far by gunicorn's processes and the database's backends;
    each process's last reading counts, so a backend that closes mid-window is not lost."""

    def __init__(self, gunicorn_pid: int) -> None:
        super().__init__(daemon=True)
        self.gunicorn_pid = gunicorn_pid
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(f"dbname={DB_NAME} host=127.0.0.1 user=postgres") as db:
            self.poll(db, first=True)
            while not self.stop.wait(0.2):
                self.poll(db, first=False)
            self.poll(db, first=False)

    def poll(self, db, *, first: bool) -> None:
        backends = db.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [DB_NAME],
        ).fetchall()
        for pid in [*process_tree(self.gunicorn_pid), *(row[0] for row in backends)]:
            ns = cpu_ns(pid)
            if ns is None:
                continue
            if first:
                self.first[pid] = ns
            self.last[pid] = ns

    def used_seconds(self) -> float:
        return sum(ns - self.first.get(pid, 0) for pid, ns in self.last.items()) / 1e9


def process_tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        found = [int(child) for child in children.read_text().split()]
    except FileNotFoundError:
        found = []
    return [pid, *[p for child in found for p in process_tree(child)]]


def cpu_ns(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (FileNotFoundError, ProcessLookupError):
        return None


@dataclass(frozen=True)
class Mixed:
    tallies: dict[str, Tally]
    server_seconds: float  # CPU of gunicorn and the backends over the window (the poller's)
    loadavg: str


def measure_mixed(base_url: str, token: str, pid: int, kinds: list[str], *, slot: float,
                  seconds: float) -> Mixed:  # fmt: skip
    loadavg = load_average()
    window = Window(kinds, slot, seconds, start_at=time.time() + 3)
    poller = CpuPoller(pid)
    with multiprocessing.get_context("spawn").Pool(CLIENTS) as pool:
        pending = pool.starmap_async(client, [(base_url, token, window, w) for w in range(CLIENTS)])
        time.sleep(max(0.0, window.start_at - time.time()))
        poller.start()
        results = pending.get()
        poller.stop.set()
        poller.join()
    tallies = {kind: Tally() for kind in kinds}
    for result in results:
        for kind, tally in result.items():
            tallies[kind].add(tally)
    return Mixed(tallies, poller.used_seconds(), loadavg)


def rate(tally: Tally) -> float:
    """Items per second while the clients waited for this kind."""
    return tally.items / max(1e-9, tally.latency / CLIENTS)


def cpu_per_item(tally: Tally) -> float:
    """Server CPU (gunicorn worker + PostgreSQL backend) per item, in seconds."""
    return (tally.python_ns + tally.postgres_ns) / 1e9 / max(1, tally.items)


def statements_of(tally: Tally) -> tuple[int, str]:
    labels = tally.statements.most_common(1)[0][0] if tally.statements else ""
    return (len(labels.split(", ")) if labels else 0), labels


# --- one call at a time: Redis commands and a profile ----------------------------------------


def redis_commands(base_url: str, token: str) -> dict[str, list[str]]:
    """The Redis commands one call of each kind sends (the benchmark's own Redis database)."""
    import redis

    monitor_client = redis.Redis.from_url(REDIS_URL)
    seen: list[tuple[float, str]] = []
    ready = threading.Event()

    def listen() -> None:
        with monitor_client.monitor() as monitor:
            ready.set()
            for command in monitor.listen():
                if command["db"] == REDIS_DB:
                    seen.append((command["time"], command["command"].split()[0].upper()))

    threading.Thread(target=listen, daemon=True).start()
    ready.wait(5)
    session = authorized_session(token)
    spans = {}
    worker, first = CLIENTS + 1, 10_000  # a client of its own, past the pools' numbers
    for kind in ("token", "put-new", "put-changed", "put-replay", "batch-new", "batch-changed"):
        # The first call makes the contacts; the second is new, changed or a replay of it.
        step = 0 if kind.endswith("replay") else (POOL if "put" in kind else BATCH_POOL)
        for n in (first, first + step):
            method, path, body = request_for(kind, worker, n)
            started = time.time()
            session.request(method, base_url + path, data=body, timeout=60)
            spans[kind] = (started, time.time())
            time.sleep(0.3)
    time.sleep(0.5)
    return {
        kind: [command for at, command in seen if start <= at <= end]
        for kind, (start, end) in spans.items()
    }


def profile_hot_path(token: str) -> str:
    """cProfile of PUTs (new, changed) and batches (new, changed) through the whole Django
    stack in this process (wall time, so waits for PostgreSQL and Redis count), with the
    per-token rate limit on as in production."""
    from django.conf import settings
    from django.test import Client

    settings.DEBUG = False  # no query log
    settings.API_RATE_LIMIT = 10**9  # counted, never refused (the server counted this token too)
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")

    def put(external_id: str, last_name: str | None = None) -> None:
        body = json.dumps(contact(external_id, 1, last_name))
        client.put(f"{REAL}/contacts/{external_id}", body, content_type="application/json")

    def post(prefix: str, last_name: str | None = None) -> None:
        body = batch_body(prefix, last_name)
        client.post(f"{REAL}/contacts/batch", body, content_type="application/json")

    put("warm-up")
    summaries = []
    for what, calls in [
        ("PUT, new (300 calls)", lambda: [put(f"prof-{i}") for i in range(300)]),
        ("PUT, changed (300 calls)", lambda: [put(f"prof-{i}", "Other") for i in range(300)]),
        ("batch of 1,000, new (3 calls)", lambda: [post(f"prof-b{b}") for b in range(3)]),
        ("batch of 1,000, changed (3 calls)",
         lambda: [post(f"prof-b{b}", "Other") for b in range(3)]),
    ]:  # fmt: skip
        profiler = cProfile.Profile()
        profiler.runcall(calls)
        summaries.append(f"{what}:\n{profile_summary(profiler)}")
    return "\n".join(summaries)


# Where time goes, by the first of these that a function's file path contains.
PROFILE_GROUPS = [
    ("contacts/", "contacts (ours)"),
    ("sync/", "sync (ours)"),
    ("mapping/", "mapping (ours)"),
    ("spotlersync/", "spotlersync (ours)"),
    ("psycopg", "psycopg (round trips, adaptation)"),
    ("django/db", "Django ORM"),
    ("redis", "redis-py"),
    ("ninja", "django-ninja"),
    ("pydantic", "pydantic"),
    ("django", "Django (request, middleware)"),
    ("json", "json"),
]
OURS = ("contacts/", "sync/", "mapping/", "spotlersync/")


def profile_summary(profiler: cProfile.Profile) -> str:
    """Own time by library, and our functions with the most cumulative time."""
    stats = pstats.Stats(profiler).stats
    total = sum(tt for _, _, tt, _, _ in stats.values()) or 1e-9
    by_group: Counter = Counter()
    for (path, _, name), (_, _, tt, _, _) in stats.items():
        group = next((label for part, label in PROFILE_GROUPS if part in path), "other")
        if path == "~":
            waits = any(word in name for word in ("recv", "send", "poll", "select", "wait"))
            group = "socket waits (round trips)" if waits else "other built-ins"
        by_group[group] += tt
    groups = ", ".join(f"{name} {tt / total:.0%}" for name, tt in by_group.most_common(8))
    ours = sorted(
        ((ct, f"{Path(path).parent.name}/{Path(path).name}:{name}")
         for (path, _, name), (_, _, _, ct, _) in stats.items()
         if any(f"/{part}" in path for part in OURS) and ".venv" not in path
         and name not in ("middleware", "wrapped")),
        reverse=True,
    )  # fmt: skip
    top = ", ".join(f"{label} {ct / total:.0%}" for ct, label in ours[:8])
    return f"  own time by library: {groups}\n  ours, cumulative: {top}"


def load_average() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


# --- the figures -----------------------------------------------------------------------------


def run() -> list[Figure]:
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "flushdb"], check=True, capture_output=True)
    set_up_fresh_database(DB_NAME, redis_url=REDIS_URL)
    token = create_token()
    with gunicorn(token) as (base_url, pid):
        seed_pools(base_url, token)
        single = measure_mixed(base_url, token, pid, SINGLE_KINDS, slot=SINGLE_SLOT,
                               seconds=SINGLE_SECONDS)  # fmt: skip
        batches = measure_mixed(base_url, token, pid, BATCH_KINDS, slot=BATCH_SLOT,
                                seconds=BATCH_SECONDS)  # fmt: skip
        commands = redis_commands(base_url, token)
    profile = profile_hot_path(token)
    print(profile)
    return [
        *ratio_figures(single, batches),
        *absolute_figures(single, batches),
        *count_figures(single, batches, commands),
        *check_figures(single, batches),
    ]


def how(mixed: Mixed, slot: float, seconds: float) -> str:
    return (
        f"gunicorn -w {GUNICORN_WORKERS} (sync), PostgreSQL, {CLIENTS} client processes on the "
        f"same {os.cpu_count()}-core shared machine; kinds interleaved in {slot:g} s slots over "
        f"{seconds:g} s; load average before: {mixed.loadavg}"
    )


def ratio_figures(single: Mixed, batches: Mixed) -> list[Figure]:
    figures = []
    for real, ref, mixed, target, unit in [
        ("put-new", "ref-put-new", single, PUT_RATIO_TARGET, "request"),
        ("put-changed", "ref-put-changed", single, PUT_RATIO_TARGET, "request"),
        ("batch-new", "ref-batch-new", batches, BATCH_RATIO_TARGET, "contact"),
        ("batch-changed", "ref-batch-changed", batches, BATCH_RATIO_TARGET, "contact"),
    ]:
        a, b = mixed.tallies[real], mixed.tallies[ref]
        what = DESCRIPTION[real]
        figures.append(Figure(
            f"{what}: server CPU per {unit} ÷ the reference's", cpu_per_item(a) / cpu_per_item(b),
            "x", target=target, higher_is_better=False,
            note=f"{cpu_per_item(a) * 1e3:.2f} ms vs {cpu_per_item(b) * 1e3:.2f} ms (gunicorn "
                 f"worker {a.python_ns / 1e6 / max(1, a.items):.2f} + PostgreSQL "
                 f"{a.postgres_ns / 1e6 / max(1, a.items):.2f} ms vs "
                 f"{b.python_ns / 1e6 / max(1, b.items):.2f} + "
                 f"{b.postgres_ns / 1e6 / max(1, b.items):.2f} ms); bare endpoint "
                 f"{cpu_per_item(single.tallies['bare']) * 1e3:.2f} ms, token check only "
                 f"{cpu_per_item(single.tallies['token']) * 1e3:.2f} ms",
        ))  # fmt: skip
        figures.append(Figure(
            f"{what}: {unit}s/s ÷ the reference's", rate(a) / rate(b), "x", target=1 / target,
            note=f"{rate(a):,.0f} vs {rate(b):,.0f} {unit}s/s; the clients share the 2 cores, so "
                 "this ratio is closer to 1 than the CPU one; " + how(mixed, *window_of(mixed)),
        ))  # fmt: skip
    return figures


def window_of(mixed: Mixed) -> tuple[float, float]:
    if "bare" in mixed.tallies:
        return SINGLE_SLOT, SINGLE_SECONDS
    return BATCH_SLOT, BATCH_SECONDS


def absolute_figures(single: Mixed, batches: Mixed) -> list[Figure]:
    cores = os.cpu_count() or 1
    figures = []
    for kind, mixed, target, unit in [
        ("put-new", single, PUT_TARGET, "upserts/s"),
        ("put-changed", single, PUT_TARGET, "upserts/s"),
        ("put-replay", single, None, "calls/s"),
        ("bare", single, None, "calls/s"),
        ("batch-new", batches, BATCH_TARGET, "contacts/s"),
        ("batch-changed", batches, BATCH_TARGET, "contacts/s"),
        ("batch-replay", batches, None, "contacts/s"),
    ]:
        tally = mixed.tallies[kind]
        figures.append(Figure(
            DESCRIPTION[kind], rate(tally), unit, target=target,
            note=f"absolute, on a loaded shared machine (the target is for a quiet one); "
                 f"{tally.failed} failed; server CPU {cpu_per_item(tally) * 1e3:.3f} ms each, so "
                 f"about {cores / max(1e-9, cpu_per_item(tally)):,.0f}/s if the server had the "
                 f"{cores} cores to itself; " + how(mixed, *window_of(mixed)),
        ))  # fmt: skip
    return figures


def count_figures(single: Mixed, batches: Mixed, commands: dict[str, list[str]]) -> list[Figure]:
    figures = []
    for kind, mixed in [("put-new", single), ("put-changed", single), ("put-replay", single),
                        ("batch-new", batches), ("batch-changed", batches),
                        ("batch-replay", batches)]:  # fmt: skip
        count, labels = statements_of(mixed.tallies[kind])
        figures.append(Figure(f"SQL statements per call, {DESCRIPTION[kind]}", count,
                              "statements", higher_is_better=False, note=labels))  # fmt: skip
    for kind, sent in commands.items():
        figures.append(Figure(f"Redis round trips per call, {DESCRIPTION.get(kind, kind)}",
                              round_trips(sent), "round trips", higher_is_better=False,
                              note=", ".join(sent) or "none"))  # fmt: skip
    return figures


def round_trips(commands: list[str]) -> int:
    """A MULTI ... EXEC block is sent as one pipeline: one round trip."""
    trips, in_block = 0, False
    for command in commands:
        if command == "MULTI":
            in_block = True
            trips += 1
        elif command == "EXEC":
            in_block = False
        elif not in_block:
            trips += 1
    return trips


def check_figures(single: Mixed, batches: Mixed) -> list[Figure]:
    figures = []
    for what, mixed in [("single calls", single), ("batches", batches)]:
        reported = sum((t.python_ns + t.postgres_ns) / 1e9 for t in mixed.tallies.values())
        calls = sum(t.calls for t in mixed.tallies.values())
        rest = mixed.server_seconds - reported
        if rest >= 0:
            said = (
                f"the rest, {rest / max(1, calls) * 1e3:.2f} ms per call, is gunicorn's HTTP "
                "handling and PostgreSQL's own work (not in the ratios)"
            )
        else:  # seen for batches: the poller misses part of the long requests' CPU
            said = (
                "the per-request reports exceed what the poller saw; the poller under-counts "
                "here, not known why (the ratios use the per-request reports only)"
            )
        figures.append(Figure(
            f"server CPU the per-request reports account for, {what}",
            100 * reported / max(1e-9, mixed.server_seconds), "%",
            note=f"{reported:.1f} s of {mixed.server_seconds:.1f} s polled every 0.2 s; {said}",
        ))  # fmt: skip
    return figures
