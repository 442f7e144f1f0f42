"""Twenty edits of one contact within a second make at most 2 Spotler calls (issue 6), and the
last edit still reaches Spotler about a second later; a single edit is not delayed.

The real parts: PostgreSQL (a database of its own, `spotlersync_bench_edits`, made afresh each
run), Redis as broker and cache, a `manage.py qcluster` with 2 workers, the sandbox in a process
of its own at its default rate limit, and the ingest API (`PUT /api/v1/contacts/{id}` with a
write token, called in this process through Django's test client). No schedules run, so
whatever reaches the sandbox was pushed by the live path alone. Each burst: 20 PUTs of one
contact spread over 0.9 s, each with another first name; counted are the sandbox's
`POST contact` calls for that contact, and timed is the last PUT's answer until the sandbox holds
that last first name.
"""

import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench.bench_sandbox import sandbox_command
from bench.database import set_up_fresh_database
from bench.figures import Figure

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "spotlersync_bench_edits"
REDIS_URL = "redis://127.0.0.1:6379/9"
BURSTS = 5
EDITS = 20
SPREAD_SECONDS = 0.9
SINGLE_EDITS = 10
CALLS_TARGET = 2
ANNA = {"email": "anna@example.nl", "first_name": "Anna", "newsletter": True}


@contextlib.contextmanager
def queue_cluster() -> Iterator[None]:
    """`manage.py qcluster` (2 workers) on the benchmark's database and Redis."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env={**os.environ, "Q_WORKERS": "2"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        yield
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


def first_name_in_spotler(sandbox, external_id: str) -> str | None:
    from spotler.sandbox.handle import SandboxControlError

    try:
        return sandbox.contact(external_id)["properties"].get("firstName")
    except SandboxControlError:
        return None


def seconds_until(sandbox, external_id: str, first_name: str, *, since: float) -> float:
    deadline = time.monotonic() + 60
    while first_name_in_spotler(sandbox, external_id) != first_name:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{external_id} never reached the sandbox as {first_name!r}")
        time.sleep(0.02)
    return time.monotonic() - since


def upserts(sandbox) -> int:
    return sum(sandbox.requests().get("POST contact", {}).values())


def put(api, external_id: str, first_name: str) -> None:
    response = api.put(
        f"/api/v1/contacts/{external_id}", data={**ANNA, "first_name": first_name},
        content_type="application/json",
    )  # fmt: skip
    if response.status_code != 202:
        raise RuntimeError(f"PUT answered {response.status_code}: {response.content[:200]!r}")


def burst(api, sandbox, external_id: str) -> tuple[int, float, float]:
    """(Spotler calls, seconds from the last PUT to Spotler holding it, seconds the PUTs took)."""
    before = upserts(sandbox)
    started = time.monotonic()
    for n in range(EDITS):
        time.sleep(max(0.0, started + n * SPREAD_SECONDS / (EDITS - 1) - time.monotonic()))
        put(api, external_id, f"Edit {n}")
    last_put = time.monotonic()
    latency = seconds_until(sandbox, external_id, f"Edit {EDITS - 1}", since=last_put)
    time.sleep(2)  # anything still to go would go now
    return upserts(sandbox) - before, latency, last_put - started


def run() -> list[Figure]:
    with sandbox_command() as (sandbox, _pid):
        set_up_fresh_database(
            DB_NAME, redis_url=REDIS_URL, SPOTLER_BASE_URL=sandbox.base_url, LOG_LEVEL="WARNING"
        )
        from django.conf import settings
        from django.test import Client

        import spotler
        from contacts.models import TokenScope
        from contacts.tokens import create_api_token
        from mapping.catalogue import refresh_catalogue

        refresh_catalogue(client=spotler.client_from_settings())
        token = create_api_token(name="bench", scope=TokenScope.WRITE).secret
        api = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
        with queue_cluster():
            put(api, "W-0", "Anna")  # the cluster is up once this one is in Spotler
            seconds_until(sandbox, "W-0", "Anna", since=time.monotonic())
            singles = []
            for n in range(SINGLE_EDITS):
                put(api, f"S-{n}", "Anna")
                singles.append(seconds_until(sandbox, f"S-{n}", "Anna", since=time.monotonic()))
                time.sleep(0.3)
            bursts = [burst(api, sandbox, f"B-{n}") for n in range(BURSTS)]
    calls = [c for c, _, _ in bursts]
    latencies = [latency for _, latency, _ in bursts]
    how = (
        f"{BURSTS} bursts of {EDITS} PUTs over {SPREAD_SECONDS} s (longest took "
        f"{max(s for _, _, s in bursts):.2f} s), quiet period {settings.SYNC_PUSH_QUIET_SECONDS:g}"
        f" s, PostgreSQL + Redis, qcluster with 2 workers, {os.cpu_count()} cores"
    )
    return [
        Figure(f"Spotler calls for {EDITS} edits of one contact within a second (most of "
               f"{BURSTS} bursts)", max(calls), "calls", target=CALLS_TARGET,
               higher_is_better=False, note=f"{how}; calls per burst: {calls}"),
        Figure("last edit of a burst: from its PUT to Spotler holding it (slowest burst)",
               max(latencies), "s", higher_is_better=False,
               note=f"median {statistics.median(latencies):.2f} s; the held edits go one "
                    "quiet period after the burst's first push"),
        Figure("a single edit: from its PUT to Spotler holding it (slowest of "
               f"{SINGLE_EDITS})", max(singles), "s", higher_is_better=False,
               note=f"median {statistics.median(singles):.2f} s; not delayed by the quiet "
                    "period"),
    ]  # fmt: skip
