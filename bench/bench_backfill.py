"""Backfills into the sandbox, end to end on the real queue (issue 6).

Everything runs as in production, each part a process of its own on this machine: PostgreSQL,
Redis as broker and cache, the sandbox (`manage.py spotler_sandbox`), the backfill cluster
(`Q_CLUSTER_NAME=backfill manage.py qcluster`, 2 workers), and for the latency figure the live
cluster and gunicorn. A backfill is started with `manage.py sync backfill`, as an operator
would, and timed from that command to the run's end.

Figures:
- 100,000 contacts with no rate limit: contacts/s (target >= 1,700), the peak memory of the
  largest cluster process (target < 300 MB), and the ratio against one `POST contact` per
  contact in sequence (the classic connectors' way), measured on 2,000 contacts.
- Spotler limited to 10 requests/s (sandbox and our limiter): contacts/s against the 1,000/s
  the limit allows (target >= 95%) and the share of calls answered 429 (target < 1%).
- Live latency from an accepted PUT to the change in the sandbox while a backfill runs:
  p95 with the Redis broker (target < 1 s) and with the database (ORM) broker (< 2 s).
"""

import contextlib
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from bench.database import database_url, set_up_fresh_database
from bench.figures import Figure

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "spotlersync_bench_backfill"
REDIS_DB = 6
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
CONTACTS = int(os.environ.get("BENCH_BACKFILL_CONTACTS", "100000"))
SEQUENTIAL_CONTACTS = 2_000
LIVE_EDITS = 40
SANDBOX_PORT = 8791
WORKERS = 2
LIMITED_WORKERS = 4
SECRET_KEY = secrets.token_urlsafe(50)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def env(*, broker: str = "redis", rate_limit: float = 0) -> dict[str, str]:
    base = {
        **os.environ,
        "DATABASE_URL": database_url(DB_NAME),
        "REDIS_URL": REDIS_URL if broker == "redis" else "",
        "SPOTLER_BASE_URL": f"http://127.0.0.1:{SANDBOX_PORT}/integrationservice",
        "SPOTLER_RATE_LIMIT": str(rate_limit),
        "Q_WORKERS": "1",
        "Q_BACKFILL_WORKERS": str(WORKERS),
        "API_RATE_LIMIT": "0",
        "LOG_LEVEL": "WARNING",
        # One key for every process: django-q2 signs tasks with it, and a cluster drops (as
        # tampered) a task queued by a process with another key.
        "SECRET_KEY": SECRET_KEY,
    }
    return base


@contextlib.contextmanager
def process(
    args: list[str], environment: dict[str, str], *, log: str | None = None
) -> Iterator[subprocess.Popen]:
    """A child in a session of its own; its output to `log` under bench/ (or nowhere)."""
    out = open(ROOT / "bench" / log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        args, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def manage(*args: str, environment: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    return done.stdout


class Sandbox:
    def __init__(self) -> None:
        self.url = f"http://127.0.0.1:{SANDBOX_PORT}"
        self.session = requests.Session()

    def control(self, method: str, path: str, json=None) -> dict:
        response = self.session.request(
            method, f"{self.url}/_sandbox/{path}", json=json, timeout=30
        )
        response.raise_for_status()
        return response.json() if response.content else {}

    def wait_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.ConnectionError):
                self.control("GET", "settings")
                return
            time.sleep(0.2)
        raise RuntimeError("the sandbox did not start")

    def calls(self) -> dict:
        return self.control("GET", "requests")


def session_memory_peak(session_id: int) -> float:
    """The largest peak resident size (VmHWM, MB) among the processes of a session."""
    peak = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            if os.getsid(int(entry.name)) != session_id:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
    return peak / 1024


def seed(count: int) -> None:
    """`count` customers in the ledger, settled (as if pushed long ago), and the catalogue."""
    from contacts.batch import upsert_contacts
    from mapping.catalogue import refresh_catalogue
    from sync.models import OutboxEntry

    rows = [
        {"external_id": f"B-{n:06d}", "email": f"b{n}@example.com", "first_name": "Anna",
         "last_name": f"Jansen-{n}", "language": ("nl", "de", "en")[n % 3],
         "newsletter": n % 2 == 0, "city": "Utrecht"}
        for n in range(count)
    ]  # fmt: skip
    for start in range(0, count, 1000):
        upsert_contacts(items=rows[start : start + 1000])
    OutboxEntry.objects.all().delete()
    refresh_catalogue()


def run_backfill(environment: dict[str, str], *, filters: list[str] = ()) -> tuple[int, float]:
    """Start a backfill like an operator and wait for it: (run id, seconds)."""
    from sync.models import SyncRun, SyncRunStatus

    started = time.monotonic()
    out = manage("sync", "backfill", *filters, environment=environment)
    run_id = int(re.search(r"#(\d+)", out).group(1))
    while True:
        run = SyncRun.objects.get(pk=run_id)
        if run.status not in (SyncRunStatus.QUEUED, SyncRunStatus.RUNNING):
            break
        time.sleep(0.1)
    seconds = time.monotonic() - started
    if run.status != SyncRunStatus.SUCCEEDED:
        raise RuntimeError(f"backfill run {run_id} ended {run.status}: {run.error}")
    return run_id, seconds


def sequential_rate(sandbox: Sandbox) -> float:
    """One `POST contact` per contact, in sequence, with our client: contacts/s."""
    import spotler

    client = spotler.SpotlerClient(
        base_url=f"{sandbox.url}/integrationservice",
        consumer_key=os.environ.get("SPOTLER_CONSUMER_KEY", spotler_defaults()[0]),
        consumer_secret=os.environ.get("SPOTLER_CONSUMER_SECRET", spotler_defaults()[1]),
    )
    started = time.monotonic()
    for n in range(SEQUENTIAL_CONTACTS):
        client.upsert_contact(
            spotler.Contact(external_id=f"S-{n}", properties={"email": f"s{n}@example.com"}),
            update=True,
            purge=False,
        )
    return SEQUENTIAL_CONTACTS / (time.monotonic() - started)


def spotler_defaults() -> tuple[str, str]:
    from django.conf import settings

    return settings.SPOTLER_CONSUMER_KEY, settings.SPOTLER_CONSUMER_SECRET


def live_latencies(sandbox: Sandbox, environment: dict[str, str], token: str) -> list[float]:
    """PUT a contact through gunicorn, then watch the sandbox until it holds the change."""
    port = free_port()
    gunicorn = [str(ROOT / ".venv/bin/gunicorn"), "spotlersync.wsgi", "-w", "2",
                "-b", f"127.0.0.1:{port}"]  # fmt: skip
    web_env = {**environment, "DEBUG": "False", "SECURE_SSL_REDIRECT": "False",
               "ALLOWED_HOSTS": "127.0.0.1"}  # fmt: skip
    latencies, overlapping = [], 0
    with process(gunicorn, web_env, log="backfill-web.log"):
        api = f"http://127.0.0.1:{port}/api/v1/contacts"
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.ConnectionError):
                http.get(f"{api}/none", timeout=5)
                break
            time.sleep(0.2)
        watcher = requests.Session()
        for n in range(LIVE_EDITS):
            external_id = f"L-{n % 5}"
            name = f"Live {n}"
            response = http.put(
                f"{api}/{external_id}",
                json={"email": f"{external_id.lower()}@example.com", "first_name": name},
                timeout=10,
            )
            response.raise_for_status()
            accepted = time.monotonic()
            while time.monotonic() - accepted < 30:
                held = watcher.get(f"{sandbox.url}/_sandbox/contacts/{external_id}", timeout=10)
                if held.ok and held.json()["properties"].get("firstName") == name:
                    break
                time.sleep(0.01)
            latencies.append(time.monotonic() - accepted)
            overlapping += backfill_running()
            time.sleep(0.3)
    print(f"  {overlapping} of {len(latencies)} edits reached Spotler while a backfill ran")
    return latencies


def fresh_sandbox(sandbox: Sandbox) -> None:
    """An empty Spotler, so the pull a backfill does first reads no echoes of earlier phases."""
    sandbox.control("POST", "reset")
    sandbox.control("POST", "settings", {"rate_limit": 0})


def backfill_running() -> bool:
    from sync.models import SyncRun, SyncRunKind, SyncRunStatus

    return SyncRun.objects.filter(kind=SyncRunKind.BACKFILL, status=SyncRunStatus.RUNNING).exists()


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def run() -> list[Figure]:
    # A SIGTERM (a timeout, Ctrl-C in make) must still stop the processes started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "flushdb"], check=True, capture_output=True)
    set_up_fresh_database(
        DB_NAME, redis_url=REDIS_URL, SPOTLER_BASE_URL=env()["SPOTLER_BASE_URL"],
        SPOTLER_RATE_LIMIT="0", SECRET_KEY=SECRET_KEY,
    )  # fmt: skip
    manage("createcachetable", environment=env(broker="orm"))  # that phase's cache table
    figures = []
    sandbox = Sandbox()
    with process([sys.executable, "manage.py", "spotler_sandbox", "--port", str(SANDBOX_PORT)],
                 env()):  # fmt: skip
        sandbox.wait_up()
        sandbox.control("POST", "settings", {"rate_limit": 0})
        seed(CONTACTS)
        token = manage("create_api_token", "bench-backfill", environment=env()).strip()
        backfill_cluster = [sys.executable, "manage.py", "qcluster"]

        # 1. Throughput and memory, nothing else running.
        with process(backfill_cluster, {**env(), "Q_CLUSTER_NAME": "backfill"}) as cluster:
            time.sleep(2)
            _, seconds = run_backfill(env())
            peak = session_memory_peak(cluster.pid)
        rate = CONTACTS / seconds
        figures.append(Figure(f"backfill {CONTACTS:,} contacts, {WORKERS} workers", rate,
                              "contacts/s", target=1700,
                              note=f"{seconds:.1f} s from `sync backfill` to the run's end"))  # fmt: skip
        figures.append(Figure("backfill peak memory, largest cluster process", peak, "MB",
                              target=300, higher_is_better=False))  # fmt: skip
        sequential = sequential_rate(sandbox)
        figures.append(Figure("one POST contact per contact, in sequence", sequential,
                              "contacts/s"))  # fmt: skip
        figures.append(Figure("backfill vs one call per contact", rate / sequential, "x"))

        # 2. Live latency while a backfill runs, Redis broker then database broker.
        for broker, target in (("redis", 1.0), ("orm", 2.0)):
            fresh_sandbox(sandbox)
            environment = env(broker=broker)
            with (
                process(backfill_cluster, {**environment, "Q_CLUSTER_NAME": "backfill"}),
                process([sys.executable, "manage.py", "qcluster"], environment),
            ):
                time.sleep(2)
                backfilling = threading.Thread(target=run_backfill, args=(environment,))
                backfilling.start()
                time.sleep(3)
                latencies = live_latencies(sandbox, environment, token)
                backfilling.join()
            figures.append(Figure(f"live latency p95 during a backfill, {broker} broker",
                                  p95(latencies), "s", target=target, higher_is_better=False,
                                  note=f"median {statistics.median(latencies):.2f} s, "
                                       f"{len(latencies)} edits"))  # fmt: skip

        # 3. Spotler limited to 10 requests/s.
        fresh_sandbox(sandbox)
        sandbox.control("POST", "settings", {"rate_limit": 10})
        before = sandbox.calls()
        # Rate-limited, workers mostly wait for their slot: 4 of them keep every slot used while
        # one of them writes its results (2 leave about 7% of the slots unused).
        limited = {**env(rate_limit=10), "Q_BACKFILL_WORKERS": str(LIMITED_WORKERS)}
        with process(backfill_cluster, {**limited, "Q_CLUSTER_NAME": "backfill"}):
            time.sleep(2)
            ids = ["--language", "nl"]  # a third of the ledger
            run_id, _ = run_backfill(limited, filters=ids)
        from sync.models import SyncRun

        run = SyncRun.objects.get(pk=run_id)
        seconds = (run.finished_at - run.started_at).total_seconds()
        after = sandbox.calls()
        sent = CONTACTS // 3 + (1 if CONTACTS % 3 else 0)
        calls = sum(sum(c.values()) for c in after.values()) - sum(
            sum(c.values()) for c in before.values()
        )
        throttled = sum(c.get("429", 0) for c in after.values()) - sum(
            c.get("429", 0) for c in before.values()
        )
        figures.append(Figure(f"backfill with Spotler limited to 10 requests/s, {LIMITED_WORKERS} workers",
                              100 * sent / seconds / 1000, "% of 1,000 contacts/s", target=95,
                              note=f"{sent:,} contacts in {seconds:.1f} s, the run's own time"))  # fmt: skip
        figures.append(Figure("calls answered 429 at 10 requests/s",
                              100 * throttled / max(calls, 1), "%", target=1,
                              higher_is_better=False, note=f"{throttled} of {calls}"))  # fmt: skip
    return figures
