"""Fault tests (issue 6): Spotler failing, hanging and throttling, a worker killed, Redis stopped.

Each ends the same way: Spotler holds exactly the ledger as the mapping in force renders it, with
the latest live edit, one contact per external id, no permission switched back on that a
recipient switched off in Spotler, and nothing left pending or failed.

They run real queue clusters (live pushes and backfills), a real web server and a real Redis,
on PostgreSQL with the Redis broker; `make test` runs the suite a second time on those.
"""

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import requests
from django.conf import settings
from django.db import connection

from contacts.batch import upsert_contacts
from contacts.ingest import upsert_contact
from contacts.models import Contact, SyncStatus, TokenScope
from contacts.tokens import create_api_token
from mapping.current import mapping_in_force
from mapping.render import PERMISSIONS_PROPERTY, render_contact
from mapping.source import source_fields_of
from spotler.sandbox.handle import SandboxControlError
from sync import push, push_requests, runs
from sync.models import (
    OutboxEntry,
    OutboxStatus,
    SyncRun,
    SyncRunKind,
    SyncRunStatus,
    SyncRunTrigger,
)
from sync.schedules import setup_schedules
from tests import queue_cluster
from tests.conftest import transactional
from tests.queue_cluster import ROOT, descendants, running_cluster, running_clusters

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not settings.REDIS_URL,
        reason="fault tests run queue clusters on the Redis broker against PostgreSQL; "
        "run with DATABASE_URL=postgres://... REDIS_URL=redis://... (make test-postgres)",
    ),
    transactional,
]

# The client gives up on a call that hangs after READ_TIMEOUT seconds; the sandbox holds a hung
# call longer than that, and never handles it.
READ_TIMEOUT = 2
FAULTS = {"error_rate": 0.2, "error_statuses": [500, 503], "hang_rate": 0.05, "hang_seconds": 6}
NO_FAULTS = {"error_rate": 0.0, "hang_rate": 0.0}
# Every few seconds Spotler answers the next calls with 429 and Retry-After: 1 s.
BURST, BURST_EVERY_SECONDS = {"count": 4, "retry_after": 1}, 8
STALE_SECONDS = 20  # a backfill worker silent this long is taken for dead


def cluster_env(sandbox, **extra: str) -> dict[str, str]:
    return {
        "SPOTLER_BASE_URL": sandbox.base_url,
        "SPOTLER_RATE_LIMIT": "50",
        "SPOTLER_READ_TIMEOUT": str(READ_TIMEOUT),
        # Retries after the client's own are due in seconds, not minutes.
        "SYNC_PUSH_BACKOFF_SECONDS": "1,2,4",
        **extra,
    }


@pytest.fixture
def sandbox(spotler_sandbox, catalogue, settings):
    spotler_sandbox.set(rate_limit=0)
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    settings.SPOTLER_RATE_LIMIT = 0
    return spotler_sandbox


def customer(n: int, **extra) -> dict:
    return {"email": f"c{n}@example.nl", "first_name": f"Klant {n}", "newsletter": True, **extra}


def shop_has(sandbox, count: int, *, unsubscribed: int) -> set[str]:
    """`count` customers in the ledger, none in Spotler yet but every `count // unsubscribed`-th:
    those were pushed and then unsubscribed there (bit 1 off), while the shop still says yes.
    Returns the unsubscribed ones' external ids."""
    rows = [{"external_id": f"C-{n}", **customer(n)} for n in range(count)]
    for start in range(0, count, 1000):
        upsert_contacts(items=rows[start : start + 1000])
    step = count // unsubscribed
    gone = {f"C-{n}" for n in range(0, count, step)}
    OutboxEntry.objects.exclude(contact__external_id__in=gone).update(status=OutboxStatus.DONE)
    while push.push_one_batch() is not None:
        pass
    for external_id in gone:
        sandbox.control("POST", f"contacts/{external_id}/unsubscribe", {"bit": 1})
    return gone


class LiveEdits:
    """The shop editing customers while the sync works: names, a newsletter "no", new ones."""

    def __init__(self, *, count: int, unsubscribed: set[str]) -> None:
        self.count = count
        self.unsubscribed = unsubscribed
        self.random = random.Random(6)
        self.first_names: dict[str, str] = {}  # the latest name sent per external id
        self.made = 0

    def one(self) -> None:
        self.made += 1
        n = self.random.randrange(self.count)
        external_id = f"C-{n}"
        if self.made % 20 == 0:  # a new customer
            n = 10**6 + self.made
            external_id = f"LIVE-{self.made}"
        extra = {"first_name": f"Edit {self.made}"}
        if self.made % 10 == 0 and external_id not in self.unsubscribed:
            extra["newsletter"] = False
        upsert_contact(external_id=external_id, raw_fields=customer(n, **extra))
        self.first_names[external_id] = extra["first_name"]


def wait_for(
    done: Callable[[], bool],
    *,
    seconds: float,
    what: str,
    every: Callable[[], object] | None = None,
) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"gave up waiting {seconds:g} s for {what}"
        if every is not None:
            every()
        time.sleep(0.2)


def run_state(run: SyncRun) -> SyncRun:
    run.refresh_from_db()
    return run


def outbox_settled() -> bool:
    waiting = OutboxEntry.objects.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT])
    return not waiting.exists()


def drain_outbox(sandbox) -> None:
    """Spotler well again: wait until every retry went out (asking for a push every 2 s, as the
    next live edit or the one-minute schedule would)."""
    sandbox.set(**NO_FAULTS)
    asked = [0.0]

    def ask_for_a_push() -> None:
        if time.monotonic() - asked[0] > 2:
            asked[0] = time.monotonic()
            push_requests.request_push()

    wait_for(outbox_settled, seconds=120, what="the outbox to drain", every=ask_for_a_push)


def faults_answered(sandbox) -> dict[str, int]:
    """How many calls the sandbox failed, per status, over every endpoint."""
    counts: dict[str, int] = {}
    for statuses in sandbox.requests().values():
        for status, n in statuses.items():
            if status in ("429", "500", "503"):
                counts[status] = counts.get(status, 0) + n
    return counts


def assert_spotler_holds_the_ledger(sandbox, *, unsubscribed: set[str], edits: LiveEdits) -> None:
    # Sign-ups through a subscribe form have no external id: they are not the ledger's.
    held = [c for c in sandbox.control("GET", "contacts")["contacts"] if c.get("externalId")]
    external_ids = [c["externalId"] for c in held]
    assert len(external_ids) == len(set(external_ids)), "a contact is in Spotler twice"
    by_id = {c["externalId"]: c["properties"] for c in held}
    contacts = Contact.objects.filter(erased_at__isnull=True).order_by("pk")
    assert set(by_id) == set(contacts.values_list("external_id", flat=True))
    mapping = mapping_in_force()
    wrong = []
    for contact in contacts.iterator(chunk_size=2000):
        rendered = render_contact(
            external_id=contact.external_id, fields=source_fields_of(contact), mapping=mapping
        )
        expected = dict(rendered.payload["properties"])
        bits = {p["bit"]: p["enabled"] for p in expected.pop(PERMISSIONS_PROPERTY, [])}
        if contact.external_id in unsubscribed:
            bits[1] = False  # switched off in Spotler; the shop's old "yes" must not undo it
        stored = by_id[contact.external_id]
        stored_bits = {p["bit"]: p["enabled"] for p in stored[PERMISSIONS_PROPERTY]}
        plain = {k: v for k, v in stored.items() if not isinstance(v, list)}  # sets: bits
        if plain != expected or any(stored_bits[bit] != on for bit, on in bits.items()):
            wrong.append((contact.external_id, stored, rendered.payload))
    assert not wrong, f"{len(wrong)} contacts differ from the ledger, e.g. {wrong[:3]}"
    assert {k: by_id[k]["firstName"] for k in edits.first_names} == edits.first_names
    assert not Contact.objects.exclude(sync_status=SyncStatus.SYNCED).exists()
    assert not OutboxEntry.objects.filter(status=OutboxStatus.FAILED).exists()
    assert outbox_settled()


def test_a_backfill_with_live_edits_survives_spotler_failing_hanging_and_throttling(sandbox):
    count = 20_000
    unsubscribed = shop_has(sandbox, count, unsubscribed=100)
    edits = LiveEdits(count=count, unsubscribed=unsubscribed)
    setup_schedules()
    with running_clusters(workers=2, backfill_workers=4, extra_env=cluster_env(sandbox)):
        run = runs.start_run(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.COMMAND)
        wait_for(lambda: run_state(run).total is not None, seconds=60, what="the run's chunks")
        sandbox.set(**FAULTS)
        burst_at = time.monotonic()
        while run_state(run).status not in runs.FINISHED:
            edits.one()
            if time.monotonic() - burst_at > BURST_EVERY_SECONDS:
                sandbox.control("POST", "burst429", BURST)
                burst_at = time.monotonic()
            time.sleep(0.05)
        assert run.status == SyncRunStatus.SUCCEEDED, run.error
        drain_outbox(sandbox)
    assert run.total == count
    failed = faults_answered(sandbox)
    assert failed.get("500") and failed.get("503") and failed.get("429"), failed
    assert_spotler_holds_the_ledger(sandbox, unsubscribed=unsubscribed, edits=edits)


def talks_to(pid: int, port: int) -> bool:
    """Whether process `pid` holds a TCP connection to `port` (its Spotler session)."""
    sockets = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    sockets.add(link[len("socket:[") : -1])
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if int(parts[2].split(":")[1], 16) == port and parts[9] in sockets:
            return True
    return False


def test_a_backfill_resumes_exactly_after_a_worker_and_then_its_cluster_are_killed(
    sandbox, settings
):
    count = 6000
    settings.SYNC_RUN_STALE_SECONDS = STALE_SECONDS
    unsubscribed = shop_has(sandbox, count, unsubscribed=60)
    edits = LiveEdits(count=count, unsubscribed=unsubscribed)
    env = cluster_env(sandbox, SYNC_RUN_STALE_SECONDS=str(STALE_SECONDS))
    spotler_port = urlsplit(sandbox.url).port
    with running_cluster(workers=1, extra_env=env):
        with running_cluster(workers=2, extra_env=env, queue="backfill") as cluster:
            run = runs.start_run(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.COMMAND)
            wait_for(lambda: run_state(run).total is not None, seconds=60, what="the chunks")
            sandbox.set(**FAULTS, latency_ms=100)
            wait_for(lambda: run_state(run).done >= 1000, seconds=90, what="1000 contacts sent",
                     every=edits.one)  # fmt: skip
            working = [p for p in descendants(cluster.pid) if talks_to(p, spotler_port)]
            assert working, "no backfill worker is talking to Spotler"
            victim = working[0]
            os.kill(victim, signal.SIGKILL)  # its chunk is lost mid-way; the guard replaces it
            wait_for(lambda: run_state(run).done >= 3000, seconds=120, what="3000 contacts sent",
                     every=edits.one)  # fmt: skip
            assert run.status == SyncRunStatus.RUNNING
            os.killpg(cluster.pid, signal.SIGKILL)  # the machine is gone, workers and all
        with running_cluster(workers=2, extra_env=env, queue="backfill"):
            watched = [0.0]

            def edit_and_watch() -> None:
                edits.one()
                if time.monotonic() - watched[0] > 3:  # as the one-minute schedule would
                    watched[0] = time.monotonic()
                    runs.watch_runs()

            wait_for(lambda: run_state(run).status in runs.FINISHED, seconds=180,
                     what="the run to end", every=edit_and_watch)  # fmt: skip
            assert run.status == SyncRunStatus.SUCCEEDED, run.error
            drain_outbox(sandbox)
    assert run.checkpoint["resumes"] >= 1
    assert run.chunks.filter(attempts__gt=1).exists()  # taken over from a dead worker
    assert (run.total, run.done) == (count, count)
    assert_spotler_holds_the_ledger(sandbox, unsubscribed=unsubscribed, edits=edits)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """A Redis of this test's own (never the machine's, which others use), without persistence:
    what it held is gone once it stops, as queued tasks are when such a Redis dies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        wait_for(lambda: _answers(client), seconds=20, what="Redis to start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None


@contextlib.contextmanager
def own_redis(port: int) -> Iterator[OwnRedis]:
    server = OwnRedis(port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@contextlib.contextmanager
def running_web_server(*, port: int, env: dict[str, str]) -> Iterator[str]:
    """gunicorn serving the project against the test database; yields its URL."""
    process = start_web_server(port=port, env=env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_web_server(process)


def start_web_server(*, port: int, env: dict[str, str]) -> subprocess.Popen:
    """gunicorn (2 workers) in a process group of its own, once it answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "spotlersync.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--timeout", "60"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": queue_cluster.test_database_url(), **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: _serves(f"http://127.0.0.1:{port}"), seconds=30,
                 what="the web server to start")  # fmt: skip
    except AssertionError:
        stop_web_server(process)
        raise
    return process


def stop_web_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _serves(url: str) -> bool:
    try:
        return requests.get(f"{url}/api/v1/changes", timeout=2).status_code == 401
    except requests.RequestException:
        return False


OUTAGE_SECONDS = 60


def test_the_api_keeps_accepting_while_redis_is_down_and_the_sync_catches_up(sandbox):
    redis_port = free_port()
    env = {**cluster_env(sandbox), "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}
    secret = create_api_token(name="Webshop", scope=TokenScope.WRITE).secret
    setup_schedules()
    sent: dict[str, str] = {}  # external id -> the latest first name sent
    with (
        own_redis(redis_port) as broker,
        running_web_server(port=free_port(), env=env) as url,
        running_cluster(workers=1, extra_env=env),
    ):
        shop = requests.Session()
        shop.headers["Authorization"] = f"Bearer {secret}"

        def put(n: int, first_name: str) -> requests.Response:
            external_id = f"R-{n}"
            answer = shop.put(f"{url}/api/v1/contacts/{external_id}",
                              json=customer(n, first_name=first_name), timeout=15)  # fmt: skip
            sent[external_id] = first_name
            return answer

        assert put(0, "Before").status_code == 202
        wait_for(lambda: _spotler_has(sandbox, "R-0", "Before"), seconds=60, what="R-0 pushed")

        broker.stop()
        answers, stopped = [], time.monotonic()
        while time.monotonic() - stopped < OUTAGE_SECONDS:
            n = len(answers) % 40  # new customers, then edits of the same ones
            answers.append(put(n, f"Outage {len(answers)}").status_code)
            time.sleep(0.25)
        assert set(answers) == {202}, answers

        broker.start()
        wait_for(lambda: all(_spotler_has(sandbox, k, v) for k, v in sent.items()),
                 seconds=120, what="the sync to catch up")  # fmt: skip
        wait_for(outbox_settled, seconds=30, what="the outbox to drain")
    held = {c["externalId"]: c["properties"]["firstName"] for c in sandbox.state()["contacts"]}
    assert held == sent


def _spotler_has(sandbox, external_id: str, first_name: str) -> bool:
    try:
        return sandbox.contact(external_id)["properties"]["firstName"] == first_name
    except SandboxControlError:  # not there yet
        return False
