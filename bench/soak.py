"""Load and soak (issue 16): the ingest API and the dashboard under Locust while the sync pushes
to a Spotler sandbox that limits the rate, fails some calls, answers slowly and now and then
answers a burst of 429s.

The processes are the production ones, each in a process group of its own as if on machines of
their own: `gunicorn spotlersync.wsgi -w 2` (DEBUG off, static files collected) and one
`manage.py qcluster` (2 workers), on PostgreSQL and the Redis broker. Locust runs headless in a
process of its own (bench/locustfile.py). This process plays Spotler (the sandbox, in a thread),
starts the 429 bursts, and samples every server process's memory (RSS) every 2 seconds.

When the load stops, Spotler is made well again and the queue is given time to drain (a push is
asked for every 2 s, as the next edit or the one-minute schedule would). Then `soak()` reports:
failures by status (a 5xx from us, a connection error, or any answer other than the expected
one), what differs between the ledger and Spotler (every contact once, with the ledger's fields
as the mapping renders them, and the first name the shop last had accepted), the outbox left
pending or failed, and each process's memory growth from the end of the warm-up to the end.

`bench/bench_loadtest.py` (`make loadtest`) runs it for 10 minutes on a fresh database;
`tests/sync/test_soak.py` runs it for 60 seconds in `make test` on PostgreSQL.
"""

import contextlib
import csv
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = secrets.token_urlsafe(16)
USERNAME = "loadtest"
SEED_CONTACTS = 200
# Spotler: 20 calls/s per credential (we keep to 15), 5% of calls fail with a 500 or a 503,
# 20 ms more per call, and every 15 s the next 5 calls are answered 429 (Retry-After: 1 s).
SANDBOX_RATE_LIMIT = 20
OUR_RATE_LIMIT = 15
FAULTS = {"error_rate": 0.05, "error_statuses": [500, 503], "latency_ms": 20}
NO_FAULTS = {"error_rate": 0.0, "latency_ms": 0}
BURST, BURST_EVERY_SECONDS = {"count": 5, "retry_after": 1}, 15
SAMPLE_EVERY_SECONDS = 2.0


@dataclass
class Sample:
    at: float  # seconds since the load started
    rss: dict[int, tuple[str, int]]  # pid -> (role, bytes)


@dataclass
class SoakResult:
    seconds: float
    warm_up_seconds: float
    requests: dict[str, dict]  # Locust's stats per request name ("Aggregated": all)
    failures: dict[str, int]  # by error, e.g. "HTTP 503": 3
    changes_accepted: int  # external ids whose last accepted first name the shop knows
    contacts: int
    differences: list[str]
    outbox_left: dict[str, int]
    drain_seconds: float
    memory: dict[str, dict] = field(default_factory=dict)  # "role pid" -> figures
    faults_answered: dict[str, int] = field(default_factory=dict)

    @property
    def server_errors(self) -> int:
        return sum(n for error, n in self.failures.items() if error.startswith("HTTP 5"))

    @property
    def max_memory_growth(self) -> float:
        return max((m["growth"] for m in self.memory.values()), default=0.0)


def server_env(*, database_url: str, redis_url: str, sandbox, secret_key: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "spotlersync.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DEBUG": "False",
        "SECRET_KEY": secret_key,
        "SECURE_SSL_REDIRECT": "False",
        "SESSION_COOKIE_SECURE": "False",
        "CSRF_COOKIE_SECURE": "False",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "API_RATE_LIMIT": str(10**9),
        "SPOTLER_BASE_URL": sandbox.base_url,
        "SPOTLER_CONSUMER_KEY": sandbox.consumer_key,
        "SPOTLER_CONSUMER_SECRET": sandbox.consumer_secret,
        "SPOTLER_RATE_LIMIT": str(OUR_RATE_LIMIT),
        "SPOTLER_READ_TIMEOUT": "5",
        # Retries are due in seconds, so the queue drains within the run.
        "SYNC_PUSH_BACKOFF_SECONDS": "1,2,4,8",
        "Q_WORKERS": "2",
    }


def static_files_collected() -> bool:
    """Whether `collectstatic` ran since the last change under static/ (it takes half a minute
    on a 2-core machine, compressing every file; production runs it once per release)."""
    manifest = ROOT / "staticfiles" / "staticfiles.json"
    if not manifest.exists():
        return False
    collected = manifest.stat().st_mtime
    sources = (ROOT / "static").rglob("*")
    return all(p.stat().st_mtime <= collected for p in sources if p.is_file())


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def process_group(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A process in a group of its own; SIGTERM to its leader at the end, then SIGKILL to the
    group for anything left."""
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out,
                                   start_new_session=True)  # fmt: skip
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def wait_for(done, *, seconds: float, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting {seconds:g} s for {what}")
        time.sleep(0.2)


def answers(url: str) -> bool:
    with contextlib.suppress(requests.RequestException):
        return requests.get(url, timeout=5).status_code < 500
    return False


def prepare_database(sandbox) -> tuple[str, str]:
    """The catalogue, a dashboard user, a write token and the contacts the load starts with.
    Returns (token, a seeded contact's external id)."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.contrib.auth.models import Group, User

    from contacts.batch import upsert_contacts
    from contacts.models import TokenScope
    from contacts.tokens import create_api_token
    from mapping.catalogue import refresh_catalogue
    from spotler import SpotlerClient
    from spotlersync.roles import Role

    refresh = refresh_catalogue(client=SpotlerClient(
        base_url=sandbox.base_url, consumer_key=sandbox.consumer_key,
        consumer_secret=sandbox.consumer_secret,
    ))  # fmt: skip
    if not refresh.ok:
        raise RuntimeError(f"the catalogue did not load: {refresh.error}")
    user = User.objects.create(username=USERNAME)
    # Hashed as production hashes it (a test's settings may use a faster hasher).
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    user.save()
    user.groups.add(Group.objects.get(name=Role.ADMIN))
    token = create_api_token(name="loadtest", scope=TokenScope.WRITE, actor="loadtest").secret
    upsert_contacts(items=[
        {"external_id": f"SEED-{n}", "email": f"seed{n}@example.com", "first_name": f"Seed {n}",
         "newsletter": True}
        for n in range(SEED_CONTACTS)
    ])  # fmt: skip
    return token, "SEED-0"


def forget_earlier_queue_state() -> None:
    """No push mark or queued task of an earlier run, nor its cluster's presence mark."""
    from django.core.cache import cache
    from django_q.brokers import get_broker

    from spotlersync import queue_presence
    from sync.push_requests import PUSH_REQUEST_KEY

    cache.delete(PUSH_REQUEST_KEY)
    get_broker().purge_queue()
    queue_presence.report_stopped(queue_presence.default_queue())


class MemorySampler(threading.Thread):
    """Every server process's RSS every few seconds: gunicorn's master and workers, the
    cluster's parent, sentinel, monitor, pusher and workers."""

    def __init__(self, roots: dict[str, int], started: float) -> None:
        super().__init__(daemon=True)
        self.roots = roots
        self.started = started
        self.samples: list[Sample] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(SAMPLE_EVERY_SECONDS):
            self.samples.append(self.sample())

    def sample(self) -> Sample:
        rss = {}
        for role, pid in self.roots.items():
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(pid)
                for number, process in enumerate([root, *root.children(recursive=True)]):
                    with contextlib.suppress(psutil.Error):
                        name = role if number == 0 else f"{role} child"
                        rss[process.pid] = (name, process.memory_info().rss)
        return Sample(at=time.monotonic() - self.started, rss=rss)

    def growth(self, *, warm_up: float, end: float, window: float = 10.0) -> dict[str, dict]:
        """Per process alive at both ends: median RSS over `window` s before the end of the
        warm-up and before the end, and the growth between them."""

        def around(moment: float) -> dict[int, list[int]]:
            found: dict[int, list[int]] = {}
            for sample in self.samples:
                if moment - window <= sample.at <= moment:
                    for pid, (_, rss) in sample.rss.items():
                        found.setdefault(pid, []).append(rss)
            return found

        before, after = around(warm_up), around(end)
        roles = {pid: role for s in self.samples for pid, (role, _) in s.rss.items()}
        figures = {}
        for pid in sorted(set(before) & set(after)):
            start, finish = median(before[pid]), median(after[pid])
            figures[f"{roles[pid]} {pid}"] = {
                "start_mb": round(start / 2**20, 1),
                "end_mb": round(finish / 2**20, 1),
                "growth": (finish - start) / start,
            }
        return figures


def burst_now_and_then(sandbox, stop: threading.Event) -> None:
    while not stop.wait(BURST_EVERY_SECONDS):
        with contextlib.suppress(Exception):
            sandbox.control("POST", "burst429", BURST)


def read_locust(prefix: str) -> tuple[dict[str, dict], dict[str, int]]:
    requests_by_name, failures = {}, {}
    with open(f"{prefix}_stats.csv") as stats:
        for row in csv.DictReader(stats):
            requests_by_name[row["Name"]] = {  # e.g. "PUT /api/v1/contacts/[id]"
                "count": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "per_second": float(row["Requests/s"]),
                "median_ms": float(row["Median Response Time"] or 0),
                "p95_ms": float(row["95%"] or 0) if row["95%"] != "N/A" else 0.0,
            }
    with open(f"{prefix}_failures.csv") as rows:
        for row in csv.DictReader(rows):
            failures[row["Error"]] = failures.get(row["Error"], 0) + int(row["Occurrences"])
    return requests_by_name, failures


def outbox_left() -> dict[str, int]:
    from django.db.models import Count

    from sync.models import OutboxEntry, OutboxStatus

    waiting = [OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT, OutboxStatus.FAILED]
    rows = OutboxEntry.objects.filter(status__in=waiting).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def drain(*, seconds: float) -> float:
    """Until nothing is pending or in flight (asking for a push every 2 s); the time it took."""
    from sync import push_requests

    started = asked = time.monotonic()
    push_requests.request_push()
    while time.monotonic() - started < seconds:
        left = outbox_left()
        if not left.get("pending") and not left.get("in_flight"):
            break
        if time.monotonic() - asked > 2:
            asked = time.monotonic()
            push_requests.request_push()
        time.sleep(0.5)
    return time.monotonic() - started


def differences(sandbox, sent: dict[str, str]) -> list[str]:
    """What Spotler holds that is not the ledger as the mapping renders it, and what the ledger
    holds that is not what the shop last had accepted. Empty when all is well."""
    from contacts.models import Contact, SyncStatus
    from mapping.current import mapping_in_force
    from mapping.render import PERMISSIONS_PROPERTY, render_contact
    from mapping.source import source_fields_of

    found = []
    held = sandbox.control("GET", "contacts")["contacts"]
    ids = [c.get("externalId") for c in held]
    twice = sorted({i for i in ids if ids.count(i) > 1}) if len(ids) != len(set(ids)) else []
    found += [f"{i} is in Spotler more than once" for i in twice]
    by_id = {c.get("externalId"): c["properties"] for c in held}
    contacts = Contact.objects.filter(erased_at__isnull=True).order_by("pk")
    ledger_ids = set(contacts.values_list("external_id", flat=True))
    found += [f"{i} is in the ledger, not in Spotler" for i in sorted(ledger_ids - set(by_id))]
    found += [f"{i} is in Spotler, not in the ledger" for i in sorted(set(by_id) - ledger_ids)]
    found += [f"{i} was accepted but is not in the ledger" for i in sorted(set(sent) - ledger_ids)]
    mapping = mapping_in_force()
    for contact in contacts.iterator(chunk_size=2000):
        external_id = contact.external_id
        fields = source_fields_of(contact)
        if external_id in sent and fields.get("first_name") != sent[external_id]:
            found.append(f"{external_id}: the ledger has first name {fields.get('first_name')!r}, "
                         f"the shop last sent {sent[external_id]!r}")  # fmt: skip
        if contact.sync_status != SyncStatus.SYNCED:
            found.append(f"{external_id} is {contact.sync_status}: {contact.sync_error}")
        if external_id not in by_id:
            continue
        rendered = render_contact(external_id=external_id, fields=fields, mapping=mapping)
        expected = dict(rendered.payload["properties"])
        bits = {p["bit"]: p["enabled"] for p in expected.pop(PERMISSIONS_PROPERTY, [])}
        stored = by_id[external_id]
        stored_bits = {p["bit"]: p["enabled"] for p in stored.get(PERMISSIONS_PROPERTY, [])}
        plain = {k: v for k, v in stored.items() if not isinstance(v, list)}
        if plain != expected or any(stored_bits.get(bit) != on for bit, on in bits.items()):
            found.append(f"{external_id}: Spotler holds {stored}, the ledger renders "
                         f"{rendered.payload['properties']}")  # fmt: skip
    return found


def faults_answered(sandbox) -> dict[str, int]:
    counts: dict[str, int] = {}
    for statuses in sandbox.requests().values():
        for status, n in statuses.items():
            if status in ("429", "500", "503"):
                counts[status] = counts.get(status, 0) + n
    return counts


def soak(
    *,
    sandbox,
    database_url: str,
    redis_url: str,
    seconds: float,
    warm_up: float,
    drain_seconds: float = 180,
    shop_users: int = 6,
    dashboard_users: int = 2,
    workdir: Path | None = None,
) -> SoakResult:
    """Runs the load for `seconds` against the database Django is set up on (`database_url`)."""
    began = time.monotonic()

    def note(what: str) -> None:
        print(f"soak: {time.monotonic() - began:6.1f} s {what}", flush=True)

    workdir = Path(workdir or tempfile.mkdtemp(prefix="spotlersync-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    sandbox.set(rate_limit=SANDBOX_RATE_LIMIT, **NO_FAULTS)
    token, known_contact = prepare_database(sandbox)
    forget_earlier_queue_state()
    env = server_env(database_url=database_url, redis_url=redis_url, sandbox=sandbox,
                     secret_key=secrets.token_urlsafe(50))  # fmt: skip
    note("database ready")
    if not static_files_collected():
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
                       cwd=ROOT, env=env, check=True)  # fmt: skip
        note("static files collected")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    gunicorn = [str(ROOT / ".venv/bin/gunicorn"), "spotlersync.wsgi", "-w", "2",
                "-b", f"127.0.0.1:{port}", "--timeout", "60"]  # fmt: skip
    qcluster = [sys.executable, "manage.py", "qcluster"]
    with (
        process_group(gunicorn, env, workdir / "gunicorn.log") as web,
        process_group(qcluster, env, workdir / "qcluster.log") as cluster,
    ):
        from spotlersync import queue_presence

        wait_for(lambda: answers(f"{base_url}/healthz"), seconds=60, what="gunicorn", process=web)
        wait_for(lambda: queue_presence.is_worked(queue_presence.default_queue()), seconds=60,
                 what="the queue cluster", process=cluster)  # fmt: skip
        note("servers ready")
        sandbox.set(**FAULTS)
        stop_bursts = threading.Event()
        bursts = threading.Thread(target=burst_now_and_then, args=(sandbox, stop_bursts),
                                  daemon=True)  # fmt: skip
        sent_path, prefix = workdir / "sent.json", str(workdir / "locust")
        users = shop_users + dashboard_users
        locust_env = {**os.environ, "LOADTEST_TOKEN": token, "LOADTEST_USERNAME": USERNAME,
                      "LOADTEST_PASSWORD": PASSWORD, "LOADTEST_SENT": str(sent_path),
                      "LOADTEST_CONTACT": known_contact,
                      "LOADTEST_SHOP_USERS": str(shop_users),
                      "LOADTEST_DASHBOARD_USERS": str(dashboard_users)}  # fmt: skip
        locust = [str(ROOT / ".venv/bin/locust"), "-f", str(ROOT / "bench/locustfile.py"),
                  "--headless", "--host", base_url, "-u", str(users), "-r", str(users),
                  "-t", f"{int(seconds)}s", "--csv", prefix, "--only-summary",
                  "--loglevel", "WARNING", "--stop-timeout", "10"]  # fmt: skip
        started = time.monotonic()
        sampler = MemorySampler({"gunicorn": web.pid, "qcluster": cluster.pid}, started)
        sampler.start()
        bursts.start()
        with open(workdir / "locust.log", "w") as log:
            subprocess.run(locust, cwd=ROOT, env=locust_env, stdout=log, stderr=log,
                           timeout=seconds + 120, check=False)  # fmt: skip
        load_seconds = time.monotonic() - started
        note("load stopped")
        sampler.stopping.set()
        sampler.join()
        stop_bursts.set()
        sandbox.set(**NO_FAULTS)
        drained = drain(seconds=drain_seconds)
        note("queue drained")
    note("servers stopped")
    requests_by_name, failures = read_locust(prefix)
    sent = json.loads(sent_path.read_text()) if sent_path.exists() else {}
    if not sent_path.exists():
        failures["the shop's accepted changes were not written"] = 1
    from contacts.models import Contact

    return SoakResult(
        seconds=load_seconds,
        warm_up_seconds=warm_up,
        requests=requests_by_name,
        failures=failures,
        changes_accepted=len(sent),
        contacts=Contact.objects.count(),
        differences=differences(sandbox, sent),
        outbox_left=outbox_left(),
        drain_seconds=drained,
        memory=sampler.growth(warm_up=warm_up, end=load_seconds),
        faults_answered=faults_answered(sandbox),
    )
