"""`make loadtest`: the load and soak of issue 16 for LOADTEST_SECONDS (10 minutes by default)
on a fresh PostgreSQL database of its own (`spotlersync_bench_loadtest`) and Redis; see
bench/soak.py for what runs and what is checked.

Targets: no 5xx from us and no other failed request, no change lost or duplicated (Spotler
holds every contact once, as the ledger renders it, with the first name the shop last had
accepted; nothing pending or failed in the outbox once the queue drained), and no process's
memory more than 10% above what it was at the end of the warm-up (the first fifth of the run,
at most 2 minutes).
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

from bench.database import database_url, set_up_fresh_database
from bench.figures import Figure

COMMAND = "make loadtest"
ROOT = Path(__file__).resolve().parents[1]
DB_NAME = os.environ.get("BENCH_LOADTEST_DATABASE", "spotlersync_bench_loadtest")
REDIS_DB = int(os.environ.get("BENCH_LOADTEST_REDIS_DB", "10"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
SECONDS = float(os.environ.get("LOADTEST_SECONDS", "600"))
SHOP_USERS = int(os.environ.get("LOADTEST_SHOP_USERS", "6"))
DASHBOARD_USERS = int(os.environ.get("LOADTEST_DASHBOARD_USERS", "3"))
MEMORY_GROWTH_TARGET = 10.0  # percent


def run() -> list[Figure]:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "flushdb"], check=True, capture_output=True)
    from spotler.sandbox import serve_in_thread

    sandbox = serve_in_thread()
    try:
        set_up_fresh_database(DB_NAME, redis_url=REDIS_URL, SPOTLER_BASE_URL=sandbox.base_url,
                              SPOTLER_CONSUMER_KEY=sandbox.consumer_key,
                              SPOTLER_CONSUMER_SECRET=sandbox.consumer_secret)  # fmt: skip
        from bench.soak import soak

        warm_up = min(SECONDS / 5, 120)
        result = soak(
            sandbox=sandbox, database_url=database_url(DB_NAME), redis_url=REDIS_URL,
            seconds=SECONDS, warm_up=warm_up, shop_users=SHOP_USERS,
            dashboard_users=DASHBOARD_USERS, workdir=ROOT / "bench" / "results" / "loadtest",
        )  # fmt: skip
    finally:
        sandbox.stop()
    total = result.requests.get("Aggregated", {})
    kinds = "; ".join(
        f"{name}: {row['count']:,} ({row['per_second']:.1f}/s, median {row['median_ms']:.0f} ms, "
        f"p95 {row['p95_ms']:.0f} ms)"
        for name, row in result.requests.items() if name != "Aggregated"
    )  # fmt: skip
    lost = len(result.differences) + sum(result.outbox_left.values())
    by_role: dict[str, list[str]] = {}
    for name, m in result.memory.items():
        by_role.setdefault(name.rsplit(" ", 1)[0], []).append(
            f"{m['start_mb']:.0f}→{m['end_mb']:.0f} MB"
        )
    memory = "; ".join(f"{role}: {', '.join(v)}" for role, v in by_role.items())
    setting = (f"{SECONDS / 60:g} min, {SHOP_USERS} shop + {DASHBOARD_USERS} dashboard users, "
               "gunicorn -w 2 + 1 qcluster (2 workers), PostgreSQL + Redis")  # fmt: skip
    return [
        Figure(
            f"load and soak, {setting}: requests answered",
            total.get("per_second", 0.0),
            "requests/s",
            note=f"{total.get('count', 0):,} requests; {kinds}",
        ),
        Figure(
            "load and soak: 5xx answers from us",
            result.server_errors,
            "answers",
            target=0,
            higher_is_better=False,
            note=f"all failures by error: {result.failures or 'none'}",
        ),
        Figure(
            "load and soak: failed requests of any kind",
            sum(result.failures.values()),
            "requests",
            target=0,
            higher_is_better=False,
        ),
        Figure(
            "load and soak: changes lost or duplicated (ledger vs Spotler, outbox left)",
            lost,
            "contacts",
            target=0,
            higher_is_better=False,
            note=f"{result.contacts:,} contacts, {result.changes_accepted:,} with a first name "
            f"the shop last had accepted checked; Spotler answered {result.faults_answered}; "
            f"queue drained {result.drain_seconds:.0f} s after the load stopped; outbox left "
            f"{result.outbox_left or 'nothing'}; first differences: {result.differences[:3]}",
        ),
        Figure(
            "load and soak: largest memory growth of a process after warm-up",
            100 * result.max_memory_growth,
            "%",
            target=MEMORY_GROWTH_TARGET,
            higher_is_better=False,
            note=f"RSS, median of 10 s at the end of the {result.warm_up_seconds:.0f} s warm-up → "
            f"at the end, per process: {memory}",
        ),
    ]
