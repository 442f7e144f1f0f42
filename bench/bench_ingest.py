"""The ingest API under load (issue 4): >= 300 upserts/s through PUT, >= 3,000 contacts/s through
batches of 1,000, on PostgreSQL behind gunicorn, with the queue idle (no cluster draining it).

The server is the real thing: `gunicorn spotlersync.wsgi -w 2` with DEBUG off, PostgreSQL (a
database of its own, `spotlersync_bench_ingest`, made afresh each run) and Redis for the cache
(the per-token call counter). Separate client processes call it with keep-alive sessions and a
write token made by `manage.py create_api_token`. The per-token rate limit is switched off for
the run (it would stop a single token at 6,000 calls a minute by design).

The machine is shared: the figures depend on what else runs; each note carries the load average
seen at the start.
"""

import contextlib
import json
import multiprocessing
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.figures import Figure

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "spotlersync_bench_ingest"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/12"
# The setting (one sync worker per core); BENCH_GUNICORN_WORKERS tries others.
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "2"))
CLIENTS = 4  # client processes; each keeps one session open
# Extra gunicorn options, e.g. "--worker-class gthread --threads 4" (keeps connections alive).
GUNICORN_ARGS = os.environ.get("BENCH_GUNICORN_ARGS", "").split()
SECONDS = 8
BATCH = 1000
MAX_BATCHES = 40  # per client and run; more than a client gets through in SECONDS
PUT_TARGET = 300  # upserts/s
BATCH_TARGET = 3000  # contacts/s


def server_env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "False",
        "ALLOWED_HOSTS": "127.0.0.1",
        "API_RATE_LIMIT": "0",
        "LOG_LEVEL": "WARNING",
    }


def prepare_database() -> None:
    """A fresh database of the benchmark's own, migrated; Django set up to use it."""
    pg = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["dropdb", *pg, "--if-exists", DB_NAME], check=True)
    subprocess.run(["createdb", *pg, DB_NAME], check=True)
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["REDIS_URL"] = REDIS_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotlersync.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    if settings.DATABASES["default"]["NAME"] != DB_NAME:
        raise RuntimeError("Django was set up before this benchmark; run it on its own.")
    call_command("migrate", verbosity=0)


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
    base_url = f"http://127.0.0.1:{port}/api/v1"
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
            if requests.get(f"{base_url}/contacts/none", headers=headers, timeout=5).status_code:
                return
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer within 60 s")


def contact(external_id: str, n: int) -> dict:
    return {
        "email": f"{external_id.lower()}@example.com",
        "first_name": ("Anna", "Bram", "Chloé", "Dirk")[n % 4],
        "last_name": f"Jansen-{n}",
        "language": ("nl", "de", "en")[n % 3],
        "newsletter": n % 2 == 0,
        "account_manager": "jan@shop.example",
        "city": "Utrecht",
        "customer_since": "2024-05-01",
    }


def load(kind: str, base_url: str, token: str, start_at: float, worker: int, count: int):
    """One client process: calls from `start_at` for SECONDS; returns (items ok, failed, calls).

    `kind`: "put" (new contacts), "new" (batches of new contacts), "replay" (the first `count`
    "new" batches again) or "changed" (those batches with other values on every pass).
    """
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    session.headers["Content-Type"] = "application/json"
    bodies = batch_bodies(kind, worker, count)
    ok = failed = n = 0
    time.sleep(max(0.0, start_at - time.time()))
    end = start_at + SECONDS
    while time.time() < end:
        if kind == "put":
            external_id = f"P{worker}-{n}"
            body = json.dumps(contact(external_id, n))
            response = session.put(f"{base_url}/contacts/{external_id}", data=body, timeout=30)
            ok, failed = (ok + 1, failed) if response.status_code == 202 else (ok, failed + 1)
        else:
            response = session.post(
                f"{base_url}/contacts/batch", data=bodies[n % len(bodies)], timeout=60
            )
            accepted = response.json().get("accepted", 0) if response.status_code == 202 else 0
            ok, failed = ok + accepted, failed + BATCH - accepted
        n += 1
    return ok, failed, n


def batch_bodies(kind: str, worker: int, count: int) -> list[bytes]:
    if kind == "put":
        return []
    if kind == "new":
        return [batch_body(worker, number) for number in range(MAX_BATCHES)]
    if kind == "replay":
        return [batch_body(worker, number) for number in range(count)]
    return [batch_body(worker, number, last_name=f"Changed {p}")
            for p in (1, 2) for number in range(count)]  # fmt: skip


def batch_body(worker: int, number: int, last_name: str | None = None) -> bytes:
    items = []
    for i in range(BATCH):
        external_id = f"B{worker}-{number}-{i}"
        fields = contact(external_id, i)
        if last_name:
            fields["last_name"] = last_name
        items.append({"external_id": external_id, **fields})
    return json.dumps({"contacts": items}).encode()


@dataclass(frozen=True)
class Load:
    rate: float  # items (contacts) accepted per second, over all clients
    failed: int
    calls: list[int]  # per client
    server_cpu: float  # seconds of CPU gunicorn and its PostgreSQL backends spent


def measure(kind: str, base_url: str, token: str, pid: int, counts: list[int] | None = None):
    """What the clients got done in SECONDS, and the CPU the server side spent on it."""
    start_at = time.time() + 5  # the client processes start and build their bodies first
    counts = counts or [0] * CLIENTS
    args = [(kind, base_url, token, start_at, w, counts[w]) for w in range(CLIENTS)]
    with multiprocessing.get_context("spawn").Pool(CLIENTS) as pool:
        cpu_before = server_cpu_seconds(pid)
        results = pool.starmap(load, args)
        cpu_used = server_cpu_seconds(pid) - cpu_before
    ok = sum(ok for ok, _, _ in results)
    failed = sum(failed for _, failed, _ in results)
    return Load(ok / SECONDS, failed, [calls for _, _, calls in results], cpu_used)


def server_cpu_seconds(gunicorn_pid: int) -> float:
    """CPU time so far of gunicorn (master and workers) and of the database's other backends."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [DB_NAME],
        )
        backends = [row[0] for row in cursor.fetchall()]
    return sum(cpu_seconds(pid) for pid in [*process_tree(gunicorn_pid), *backends])


def process_tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = [int(child) for child in children.read_text().split()] if children.exists() else []
    return [pid, *[p for child in found for p in process_tree(child)]]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def run() -> list[Figure]:
    prepare_database()
    token = create_token()
    how = (
        f"gunicorn -w {GUNICORN_WORKERS} (sync), PostgreSQL, {CLIENTS} client processes on the "
        f"same {os.cpu_count()}-core machine, {SECONDS} s"
    )
    cores = os.cpu_count() or 1
    figures = []
    with gunicorn(token) as (base_url, pid):
        loadavg = load_average()
        put = measure("put", base_url, token, pid)
        figures.append(Figure("PUT /contacts/{id}, new contacts", put.rate, "upserts/s",
                              target=PUT_TARGET,
                              note=f"{how}; {put.failed} failed; load average before: {loadavg}"))  # fmt: skip
        per_put = put.server_cpu / max(1, put.rate * SECONDS)
        figures.append(Figure("server CPU per PUT (gunicorn + PostgreSQL)", per_put * 1000, "ms",
                              higher_is_better=False,
                              note=f"about {cores / per_put:,.0f} upserts/s if the server had the "
                                   f"{cores} cores to itself"))  # fmt: skip
        counts = None
        for kind, what in [("new", "new contacts"), ("replay", "replays (nothing changes)"),
                           ("changed", "every contact changed")]:  # fmt: skip
            loadavg = load_average()
            load = measure(kind, base_url, token, pid, counts)
            counts = counts or load.calls
            figures.append(Figure(f"POST /contacts/batch of {BATCH:,}, {what}", load.rate,
                                  "contacts/s", target=BATCH_TARGET,
                                  note=f"{how}; {load.failed} failed; load average before: "
                                       f"{loadavg}; server CPU "
                                       f"{load.server_cpu / max(1, load.rate * SECONDS) * 1e6:,.0f}"
                                       " us per contact"))  # fmt: skip
    return figures
