"""Several machines (issue 16): two web servers and four queue clusters, each a process group of
its own as if on a machine of its own, sharing only PostgreSQL, Redis and Spotler.

Two clusters work the default queue (live pushes, schedules, lists, subscriptions), two the
backfill queue. Spotler is down as the day starts: visitors sign up through both web servers and
are queued. Then the shop sends its customers through the API; one web server is killed (`kill -9`
of its process group) while a batch is on its way and started again, and the shop sends again
what got no answer. The one default cluster running yet is killed in the middle of a live push;
two take over. The shop keeps editing its customers while a full backfill runs, whose task is
delivered twice; one backfill cluster is killed in the middle of it. Meanwhile the shop asks both
web servers at once for more temporary lists than the budget has room for, each name twice.

At the end Spotler holds every contact once, in its latest state, and every sign-up once; it holds
30 temporary lists, ours each made once and holding its contacts; the run was claimed once and
sent each contact in one chunk; no schedule fired twice within its period; and Spotler's rate
limit was never exceeded: the sandbox refused nothing (it enforces the limit, as Spotler does) and
counted no second busier than the limit allows.
"""

import contextlib
import itertools
import os
import signal
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django_q.models import Task

from contacts.models import Contact, TokenScope
from contacts.tokens import create_api_token
from lists.models import TempList, TempListState
from public.models import Subscription, SubscriptionState
from sync import backfill, runs
from sync.models import (
    BackfillChunk,
    ChunkStatus,
    OutboxEntry,
    OutboxStatus,
    SyncRunKind,
    SyncRunStatus,
    SyncRunTrigger,
)
from sync.schedules import scheduled_jobs, setup_schedules
from tests.conftest import transactional
from tests.helpers import postgresql_only
from tests.public.subscribe_helpers import make_form, subscribe_calls
from tests.queue_cluster import descendants, running_cluster
from tests.sync.distributed_helpers import (
    Shop,
    WebMachine,
    ask_for_lists,
    sign_up,
    visitor,
    web_machine,
)
from tests.sync.test_faults import (
    NO_FAULTS,
    assert_spotler_holds_the_ledger,
    cluster_env,
    drain_outbox,
    run_state,
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
LEASE_SECONDS = 30  # a push's claim on its contacts lapses this long after it was taken
# Our limiter's slots are 1/LIMIT s apart from the epoch on, so each clock second holds exactly
# LIMIT of them. A call whose slot is at the end of one second may reach Spotler in the next,
# when its process waits for a core after its slot (two cores shared by some thirty processes):
# one such late call beside the next second's own is allowed, no more. (Spotler's own check, the
# sandbox's bucket of LIMIT a second, refuses any call over the limit: none may be refused.)
LATE_ARRIVALS = 1
SCHEDULES_WATCHED_SECONDS = 65
VISITORS = 20  # sign-ups while Spotler is down
TEMPLIST_LIMIT = 30  # Spotler's (SPOTLER_TEMPLIST_LIMIT's default)
OTHER_SYSTEMS_LISTS = 26  # leaving 4 slots for ours
LIST_NAMES = 6  # each asked for twice at once: more lists than there are slots


def cluster_mid_chunk(clusters, run, spotler_port: int, *, every) -> subprocess.Popen:
    """A backfill cluster sending a chunk of `run`: one with a worker holding a connection to
    Spotler while chunks are still waiting. (Once none waits, a worker that found nothing more to
    claim has ended its task, and may still hold its connection, idle.)"""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if run.chunks.filter(status=ChunkStatus.PENDING).exists():
            for cluster in clusters:
                if any(talks_to(p, spotler_port) for p in descendants(cluster.pid)):
                    return cluster
        every()
        time.sleep(0.05)
    raise AssertionError("no backfill cluster is sending a chunk")


def every_job_ran() -> bool:
    """Every job due within the test ran (the weekly reconciliation waits a week first)."""
    names = {job.name for job in scheduled_jobs() if not job.first_after}
    return names <= set(Task.objects.filter(group__in=names).values_list("group", flat=True))


@pytest.fixture
def sandbox(spotler_sandbox, catalogue, settings):
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    return spotler_sandbox


def kill_mid_request(web: WebMachine, shop: Shop) -> None:
    """Kill the web server while the shop's second batch is on its way, and start it again."""
    wait_for(lambda: Contact.objects.count() >= 1000 and shop.waiting_for_answer, seconds=60,
             what="the second batch on its way")  # fmt: skip
    time.sleep(0.3)  # the server is writing it
    web.kill()
    web.start()


def claims_in_flight() -> set[tuple[int, str]]:
    """The outbox entries being pushed, each with the claim of the worker pushing it."""
    return set(OutboxEntry.objects.filter(status=OutboxStatus.IN_FLIGHT).values_list("pk", "claim"))


def lists_done() -> bool:
    return not TempList.objects.exclude(state=TempListState.COMPLETE).exists()


def subscriptions_sent() -> bool:
    return not Subscription.objects.exclude(state=SubscriptionState.SENT).exists()


def test_two_web_servers_and_four_clusters_as_on_several_machines_lose_nothing_and_double_nothing(
    sandbox, settings
):
    settings.SYNC_RUN_STALE_SECONDS = STALE_SECONDS
    # Spotler answers slowly and enforces the limit itself: a call over it is refused (429).
    # It would hold more temporary lists than the budget allows: only ours may keep to it.
    sandbox.set(rate_limit=LIMIT, latency_ms=150, templist_limit=TEMPLIST_LIMIT + 10)
    sandbox.control("POST", "templists", {"count": OTHER_SYSTEMS_LISTS})
    env = cluster_env(
        sandbox, SPOTLER_RATE_LIMIT=str(LIMIT), SYNC_RUN_STALE_SECONDS=str(STALE_SECONDS),
        SYNC_PUSH_LEASE_SECONDS=str(LEASE_SECONDS),
        # The visitors come from one address, and earlier runs' sign-ups are still counted.
        PUBLIC_SUBSCRIBE_RATE_PER_ADDRESS="1000/m", PUBLIC_SUBSCRIBE_RATE_PER_EMAIL="1000/h",
    )  # fmt: skip
    # Each backfill cluster runs 2 workers, so a backfill asks for a helper beside its own.
    backfill_env = {**env, "Q_BACKFILL_WORKERS": "2"}
    spotler_port = urlsplit(sandbox.url).port
    make_form()
    secret = create_api_token(name="Webshop", scope=TokenScope.WRITE).secret
    with contextlib.ExitStack() as machines, ThreadPoolExecutor(max_workers=2) as background:
        web = [machines.enter_context(web_machine(env)) for _ in range(2)]
        shop = Shop(url=web[0].url, secret=secret, count=COUNT)
        first_default = machines.enter_context(running_cluster(workers=1, extra_env=env))
        backfill_clusters = [
            machines.enter_context(
                running_cluster(workers=2, extra_env=backfill_env, queue="backfill")
            )
            for _ in range(2)
        ]

        # Spotler is down: visitors sign up through both web servers, and are told they are in.
        sandbox.set(error_rate=1.0, error_statuses=[503])
        signed_up = sign_up([w.url for w in web], count=VISITORS)
        sandbox.set(**NO_FAULTS)

        # The shop sends its customers; one web server dies under a batch and is started again.
        # Meanwhile the one default cluster pushes them live, and dies in the middle of a push:
        # whatever is in flight now is its. Two default clusters take over.
        sending = background.submit(shop.send_all)
        kill_mid_request(web[0], shop)
        wait_for(lambda: claims_in_flight(), seconds=60, what="a live push")
        os.killpg(first_default.pid, signal.SIGKILL)
        held_at_kill = claims_in_flight()
        for _ in range(2):
            machines.enter_context(running_cluster(workers=1, extra_env=env, fresh=False))
        sending.result(timeout=120)

        # Once every cluster runs (starting one empties the queue): due at once, then each period.
        setup_schedules()
        scheduled_from = time.time()
        run = runs.start_run(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.COMMAND)
        runs.queue_run(run)  # delivered twice, as a redelivered task would be
        asked = background.submit(ask_for_lists, [w.url for w in web], secret=secret,
                                  names=LIST_NAMES)  # fmt: skip
        wait_for(lambda: run_state(run).done >= backfill.CHUNK_SIZE, seconds=90,
                 what="the first chunk sent", every=shop.edit_one)  # fmt: skip
        victim = cluster_mid_chunk(backfill_clusters, run, spotler_port, every=shop.edit_one)
        os.killpg(victim.pid, signal.SIGKILL)  # that machine is gone, mid-call
        wait_for(lambda: run_state(run).status in runs.FINISHED, seconds=120,
                 what="the run to end", every=shop.edit_one)  # fmt: skip
        assert run.status == SyncRunStatus.SUCCEEDED, run.error
        list_answers = asked.result(timeout=120)
        drain_outbox(sandbox)
        # Both default clusters look for due schedules every 30 s or so: give each a few looks,
        # over more than one period of the one-minute jobs.
        wait_for(lambda: time.time() - scheduled_from > SCHEDULES_WATCHED_SECONDS
                 and every_job_ran() and lists_done() and subscriptions_sent(), seconds=120,
                 what="every schedule to fire, every list and sign-up to be sent",
                 every=shop.edit_one)  # fmt: skip
        drain_outbox(sandbox)
        elapsed = time.time() - scheduled_from

    # The run was claimed once, though delivered twice: every contact counted in exactly one
    # settled chunk; the killed machine's chunk was taken over by the other.
    assert (run.total, run.done) == (COUNT, COUNT)
    assert run.chunks.filter(attempts__gt=1).exists(), run.checkpoint
    assert not BackfillChunk.objects.filter(run=run).exclude(status=ChunkStatus.DONE).exists()
    # Every contact once in Spotler, in the state the shop sent last: the batch the web server
    # died under, sent again, and the pushes the killed default cluster held, taken over.
    assert_spotler_holds_the_ledger(sandbox, unsubscribed=set(), edits=shop)
    assert shop.made >= 10, "the shop hardly edited anything during the backfill"
    assert shop.unanswered >= 1, "the web server was not killed under a request"
    assert held_at_kill, "the default cluster was not killed in the middle of a push"

    # Every sign-up was taken while Spotler was down, and reached it once afterwards.
    assert signed_up == [(202, {"status": "queued"})] * VISITORS
    calls = subscribe_calls(sandbox)
    assert calls.get("503") and calls.get("204") == VISITORS, calls
    held = Counter(c["properties"]["email"] for c in sandbox.state()["contacts"])
    assert all(held[visitor(n)] == 1 for n in range(VISITORS)), held

    # The list budget: the free slots filled once each, the rest refused in words.
    made = [answer.json() for answer in list_answers if answer.status_code == 202]
    refused = Counter(
        answer.json()["error"] for answer in list_answers if answer.status_code != 202
    )
    assert len(made) == TEMPLIST_LIMIT - OTHER_SYSTEMS_LISTS, (made, refused)
    assert set(refused) <= {"list_budget_exhausted", "list_name_taken"}, refused
    assert len({m["name"] for m in made}) == len(made)
    in_spotler = sandbox.state()["templists"]
    assert len(in_spotler) == TEMPLIST_LIMIT
    ours = {t["externalTemporaryListId"]: t for t in in_spotler if t["owner"] != "other-system"}
    assert (
        set(ours)
        == {m["id"] for m in made}
        == set(TempList.objects.values_list("spotler_id", flat=True))
    )
    for kept in TempList.objects.all():
        assert sorted(ours[kept.spotler_id]["contacts"]) == sorted(kept.contact_ids), kept.name

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
