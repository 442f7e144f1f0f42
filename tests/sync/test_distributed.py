"""Several machines (issue 16): a web server and four queue clusters, each a process group of
its own as if on a machine of its own, sharing only PostgreSQL, Redis and Spotler.

Two clusters work the default queue (live pushes, schedules), two the backfill queue. The shop
sends its customers through the API and keeps editing them while a full backfill runs, whose
task is delivered twice; one backfill cluster is killed (`kill -9` of its process group) in the
middle of it. At the end Spotler holds every contact once, in its latest state; the run was
claimed once and sent each contact in one chunk; no schedule fired twice within its period; and
Spotler's rate limit was never exceeded: the sandbox refused nothing (it enforces the limit, as
Spotler does) and counted no second busier than the limit allows.
"""

import contextlib
import itertools
import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings
from django_q.models import Task

from contacts.models import TokenScope
from contacts.tokens import create_api_token
from sync import backfill, runs
from sync.models import BackfillChunk, ChunkStatus, SyncRunKind, SyncRunStatus, SyncRunTrigger
from sync.schedules import scheduled_jobs, setup_schedules
from tests.conftest import transactional
from tests.helpers import postgresql_only
from tests.queue_cluster import running_cluster
from tests.sync.test_faults import (
    assert_spotler_holds_the_ledger,
    cluster_env,
    customer,
    descendants,
    drain_outbox,
    free_port,
    run_state,
    running_web_server,
    talks_to,
    wait_for,
)

pytestmark = [
    postgresql_only,
    pytest.mark.skipif(not settings.REDIS_URL, reason="clusters on several machines share Redis"),
    transactional,
]

LIMIT = 5  # Spotler calls per second, for every process together
COUNT = 4000  # customers: a backfill of 8 chunks, 40 calls, at least 8 s at the limit
STALE_SECONDS = 10  # a backfill worker silent this long is taken for dead
# Our limiter's slots are 1/LIMIT s apart from the epoch on, so each clock second holds exactly
# LIMIT of them. A call whose slot is at the end of one second may reach Spotler in the next,
# when its process waits for a core after its slot (two cores shared by some twenty processes):
# one such late call beside the next second's own is allowed, no more. (Spotler's own check, the
# sandbox's bucket of LIMIT a second, refuses any call over the limit: none may be refused.)
LATE_ARRIVALS = 1
SCHEDULES_WATCHED_SECONDS = 65


def cluster_mid_call(clusters, spotler_port: int, *, every) -> subprocess.Popen:
    """The first of `clusters` with a worker holding a connection to Spotler."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for cluster in clusters:
            if any(talks_to(p, spotler_port) for p in descendants(cluster.pid)):
                return cluster
        every()
        time.sleep(0.05)
    raise AssertionError("no backfill cluster is talking to Spotler")


def every_job_ran() -> bool:
    """Every job due within the test ran (the weekly reconciliation waits a week first)."""
    names = {job.name for job in scheduled_jobs() if not job.first_after}
    return names <= set(Task.objects.filter(group__in=names).values_list("group", flat=True))


@pytest.fixture
def sandbox(spotler_sandbox, catalogue, settings):
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    return spotler_sandbox


@dataclass
class Shop:
    """The shop's side, through the API of whichever web server answers."""

    url: str
    secret: str
    first_names: dict[str, str] = field(default_factory=dict)  # the latest sent per external id
    made: int = 0

    def __post_init__(self) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.secret}"
        self.random = random.Random(16)

    def send_all(self, count: int) -> None:
        for start in range(0, count, 1000):
            items = [{"external_id": f"C-{n}", **customer(n)} for n in range(start, start + 1000)]
            answer = self.session.post(f"{self.url}/api/v1/contacts/batch",
                                       json={"contacts": items}, timeout=60)  # fmt: skip
            assert answer.status_code == 202 and answer.json()["rejected"] == 0, answer.text

    def edit_one(self) -> None:
        self.made += 1
        n = self.random.randrange(COUNT)
        external_id, first_name = f"C-{n}", f"Edit {self.made}"
        answer = self.session.put(f"{self.url}/api/v1/contacts/{external_id}",
                                  json=customer(n, first_name=first_name), timeout=30)  # fmt: skip
        assert answer.status_code == 202, answer.text
        self.first_names[external_id] = first_name


def test_four_clusters_and_a_web_server_as_on_several_machines_lose_nothing_and_double_nothing(
    sandbox, settings
):
    settings.SYNC_RUN_STALE_SECONDS = STALE_SECONDS
    # Spotler answers slowly and enforces the limit itself: a call over it is refused (429).
    sandbox.set(rate_limit=LIMIT, latency_ms=150)
    env = cluster_env(sandbox, SPOTLER_RATE_LIMIT=str(LIMIT),
                      SYNC_RUN_STALE_SECONDS=str(STALE_SECONDS))  # fmt: skip
    # Each backfill cluster runs 2 workers, so a backfill asks for a helper beside its own.
    backfill_env = {**env, "Q_BACKFILL_WORKERS": "2"}
    spotler_port = urlsplit(sandbox.url).port
    shop = Shop(url="", secret=create_api_token(name="Webshop", scope=TokenScope.WRITE).secret)
    with contextlib.ExitStack() as machines:
        shop.url = machines.enter_context(running_web_server(port=free_port(), env=env))
        for _ in range(2):
            machines.enter_context(running_cluster(workers=1, extra_env=env))
        backfill_clusters = [
            machines.enter_context(
                running_cluster(workers=2, extra_env=backfill_env, queue="backfill")
            )
            for _ in range(2)
        ]
        # Once every cluster runs (starting one empties the queue): due at once, then each period.
        setup_schedules()
        scheduled_from = time.time()
        shop.send_all(COUNT)  # live pushes start at once, on both default clusters

        run = runs.start_run(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.COMMAND)
        runs.queue_run(run)  # delivered twice, as a redelivered task would be
        wait_for(lambda: run_state(run).done >= backfill.CHUNK_SIZE, seconds=90,
                 what="the first chunk sent", every=shop.edit_one)  # fmt: skip
        victim = cluster_mid_call(backfill_clusters, spotler_port, every=shop.edit_one)
        os.killpg(victim.pid, signal.SIGKILL)  # that machine is gone, mid-call
        wait_for(lambda: run_state(run).status in runs.FINISHED, seconds=120,
                 what="the run to end", every=shop.edit_one)  # fmt: skip
        assert run.status == SyncRunStatus.SUCCEEDED, run.error
        drain_outbox(sandbox)
        # Both default clusters look for due schedules every 30 s or so: give each a few looks,
        # over more than one period of the one-minute jobs.
        wait_for(lambda: time.time() - scheduled_from > SCHEDULES_WATCHED_SECONDS
                 and every_job_ran(), seconds=120, what="every schedule to fire",
                 every=shop.edit_one)  # fmt: skip
        drain_outbox(sandbox)
        elapsed = time.time() - scheduled_from

    # The run was claimed once, though delivered twice: every contact counted in exactly one
    # settled chunk; the killed machine's chunk was taken over by the other.
    assert (run.total, run.done) == (COUNT, COUNT)
    assert run.chunks.filter(attempts__gt=1).exists(), run.checkpoint
    assert not BackfillChunk.objects.filter(run=run).exclude(status=ChunkStatus.DONE).exists()
    # Every contact once in Spotler, in the state the shop sent last.
    assert_spotler_holds_the_ledger(sandbox, unsubscribed=set(), edits=shop)
    assert shop.made >= 10, "the shop hardly edited anything during the backfill"

    # Spotler's limit: nothing refused (the sandbox's bucket is LIMIT a second, as Spotler's
    # would be), and no clock second saw more than LIMIT plus a late arrival.
    answered = sandbox.requests()
    refused = {k: v["429"] for k, v in answered.items() if "429" in v}
    assert not refused, f"Spotler refused calls over its limit: {refused}"
    per_second = sandbox.requests_per_second()
    assert per_second["busiest"] <= LIMIT + LATE_ARRIVALS, per_second
    counted = {int(second): n for second, n in per_second["per_second"].items()}
    for start in range(min(counted), max(counted) + 1):  # and over every 10 s together
        in_window = sum(counted.get(start + k, 0) for k in range(10))
        assert in_window <= 10 * LIMIT + LATE_ARRIVALS, (start, in_window)

    # Schedules: each fired, and never twice in one period, though two clusters schedule.
    for job in scheduled_jobs():
        starts = sorted(Task.objects.filter(group=job.name).values_list("started", flat=True))
        if job.first_after:
            assert starts == [], (job.name, starts)  # not due yet
            continue
        allowed = int(elapsed // (job.minutes * 60)) + 1
        assert 1 <= len(starts) <= allowed, (job.name, starts, elapsed)
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
        assert all(gap > job.minutes * 60 / 2 for gap in gaps), (job.name, starts)
