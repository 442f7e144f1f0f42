"""Runs a real `manage.py qcluster` process against the test database."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django_q.brokers import get_broker

from spotlersync import queue_presence
from sync.push_requests import PUSH_REQUEST_KEY

ROOT = Path(__file__).resolve().parents[1]


def test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@contextlib.contextmanager
def running_cluster(
    *,
    workers: int = 2,
    extra_env: dict | None = None,
    queue: str | None = None,
    fresh: bool = True,
) -> Iterator[subprocess.Popen]:
    """A qcluster working the main queue, or `queue` (e.g. "backfill", see Q_CLUSTER).

    `fresh=False`: a machine restarted while the sync runs: the queue's waiting tasks and push
    requests are left as they are, and it is ready once it has forked its workers (the queue's
    mark may be another cluster's)."""
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "Q_WORKERS": str(workers),
        **({"Q_CLUSTER_NAME": queue, "Q_BACKFILL_WORKERS": str(workers)} if queue else {}),
        **(extra_env or {}),
    }
    if fresh:
        # No "push already requested" mark left by an earlier test. (Not cache.clear(): with
        # Redis the cache shares its database with the queue broker, and would lose queued tasks.)
        cache.delete(PUSH_REQUEST_KEY)
        # Nor tasks earlier tests queued and no cluster ran (with Redis they outlive their test's
        # database): a stale push would take this test's contacts from under the work it watches.
        get_broker(queue).purge_queue()
        # A mark left by an earlier test's cluster (killed, so it never removed it) must not pass
        # for this one's.
        queue_presence.report_stopped(queue or queue_presence.default_queue())
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # (A cluster given a cache of its own, e.g. another Redis, marks its queue there.)
        if not fresh:
            wait_until_forked(process, workers=workers)
        elif env["REDIS_URL"] == settings.REDIS_URL and env["DATABASE_URL"] == test_database_url():
            wait_until_worked(queue or queue_presence.default_queue(), process)
        yield process
    finally:
        # Only the cluster's parent gets SIGTERM: it stops its workers itself, and a signal to
        # the whole group would make it wait for workers that died under it.
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything of its group still left


@contextlib.contextmanager
def running_clusters(
    *, workers: int = 2, backfill_workers: int = 1, extra_env: dict | None = None
) -> Iterator[tuple[subprocess.Popen, subprocess.Popen]]:
    """Both queues, as production runs them: live work and backfills."""
    with (
        running_cluster(workers=workers, extra_env=extra_env) as main,
        running_cluster(
            workers=backfill_workers, extra_env=extra_env, queue="backfill"
        ) as backfill,
    ):
        yield main, backfill


def wait_until_worked(queue: str, process: subprocess.Popen, *, seconds: float = 60) -> None:
    """Until the cluster marks its queue as worked: from then on a backfill is routed to it."""
    deadline = time.monotonic() + seconds
    while not queue_presence.is_worked(queue):
        if process.poll() is not None:
            raise RuntimeError(f"the {queue} cluster exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the {queue} cluster did not report within {seconds:g} s")
        time.sleep(0.1)


def wait_until_forked(process: subprocess.Popen, *, workers: int, seconds: float = 60) -> None:
    """Until the cluster has forked its sentinel, pusher, monitor and workers: its start (Django's
    set-up, in its parent) is over."""
    deadline = time.monotonic() + seconds
    while len(descendants(process.pid)) < workers + 3:
        if process.poll() is not None:
            raise RuntimeError(f"the cluster exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the cluster did not fork its workers within {seconds:g} s")
        time.sleep(0.1)


def descendants(pid: int) -> list[int]:
    """The processes under `pid`: a qcluster's sentinel, and the sentinel's workers."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found += children
        todo += children
    return found
