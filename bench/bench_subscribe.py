"""The JSON subscribe endpoint under a flood of sign-ups (issue 14): at least 200 accepted per
second on PostgreSQL with Redis, queued before Spotler's rate limit, and then every one of them
reaches the sandbox, once.

The server is `gunicorn spotlersync.wsgi -w 2` with DEBUG off, on a fresh PostgreSQL database
of its own (`spotlersync_bench_subscribe`) and Redis for the cache (the rate-limit counts) and
the broker. It runs in queue-only mode (PUBLIC_SUBSCRIBE_TRY_AT_ONCE=false): the endpoint checks,
counts the rate limits, stores and answers 202 "queued" without calling Spotler. The rate limits
count every request but are set too high to refuse one. Client processes post distinct
addresses with keep-alive sessions and the shop's Origin. Then the queue runs
(`send_queued_subscriptions`, in this process, Spotler's rate limit off) against a sandbox, and
the sandbox's count of answered subscribe calls must equal the subscriptions stored.
"""

import contextlib
import multiprocessing
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from bench.database import set_up_fresh_database
from bench.figures import Figure

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = os.environ.get("BENCH_SUBSCRIBE_DATABASE", "spotlersync_bench_subscribe")
REDIS_DB = int(os.environ.get("BENCH_SUBSCRIBE_REDIS_DB", "11"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "2"))
CLIENTS = 4
SECONDS = float(os.environ.get("BENCH_SUBSCRIBE_SECONDS", "15"))
TARGET = 200  # subscriptions/s accepted
SHOP = "https://shop.example.com"
SECRET_KEY = secrets.token_urlsafe(50)


def server_env(sandbox_url: str, key: str, secret: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        "REDIS_URL": REDIS_URL,
        "DEBUG": "False",
        "SECRET_KEY": SECRET_KEY,
        "SECURE_SSL_REDIRECT": "False",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "SPOTLER_BASE_URL": sandbox_url,
        "SPOTLER_CONSUMER_KEY": key,
        "SPOTLER_CONSUMER_SECRET": secret,
        "SPOTLER_RATE_LIMIT": "0",
        "PUBLIC_SUBSCRIBE_TRY_AT_ONCE": "False",
        "PUBLIC_SUBSCRIBE_RATE_PER_ADDRESS": "100000000/m",
        "PUBLIC_SUBSCRIBE_RATE_PER_EMAIL": "100000000/h",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn(environment: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "spotlersync.wsgi", "-w", str(WORKERS),
         "-b", f"127.0.0.1:{port}", "--timeout", "60"],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{base_url}/healthz", timeout=5).status_code < 500:
                    break
            time.sleep(0.3)
        yield base_url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def client(base_url: str, number: int, seconds: float, results) -> None:
    session = requests.Session()
    url = f"{base_url}/subscribe/newsletter/json"
    headers = {"Origin": SHOP, "Content-Type": "application/json"}
    accepted = refused = 0
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        body = f'{{"email": "bench{number}-{i}@example.com", "firstName": "Bench {i}"}}'
        answer = session.post(url, data=body, headers=headers, timeout=30)
        if answer.status_code == 202:
            accepted += 1
        else:
            refused += 1
        i += 1
    results.put((accepted, refused))


def flood(base_url: str) -> tuple[int, int, float]:
    results = multiprocessing.Queue()
    started = time.monotonic()
    workers = [
        multiprocessing.Process(target=client, args=(base_url, n, SECONDS, results))
        for n in range(CLIENTS)
    ]
    for w in workers:
        w.start()
    counts = [results.get() for _ in workers]
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    return sum(a for a, _ in counts), sum(r for _, r in counts), elapsed


def run() -> list[Figure]:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "flushdb"], check=True, capture_output=True)
    from spotler.sandbox import serve_in_thread

    sandbox = serve_in_thread()
    sandbox.set(rate_limit=0)
    environment = server_env(sandbox.base_url, sandbox.consumer_key, sandbox.consumer_secret)
    try:
        set_up_fresh_database(
            DB_NAME, redis_url=REDIS_URL, **{k: environment[k] for k in (
                "SPOTLER_BASE_URL", "SPOTLER_CONSUMER_KEY", "SPOTLER_CONSUMER_SECRET",
                "SPOTLER_RATE_LIMIT", "SECRET_KEY")},
        )  # fmt: skip
        from public.models import SubscribeForm, Subscription, SubscriptionState
        from public.subscribe import send_queued_subscriptions

        SubscribeForm.objects.filter(slug="newsletter").update(
            enabled=True, allowed_origins=[SHOP],
            extra_fields=[{"property": "firstName", "label": "First name", "required": False}],
        )  # fmt: skip
        with gunicorn(environment) as base_url:
            accepted, refused, elapsed = flood(base_url)
        stored = Subscription.objects.count()
        queued = Subscription.objects.filter(state=SubscriptionState.QUEUED).count()

        started = time.monotonic()
        while Subscription.objects.filter(state=SubscriptionState.QUEUED).exists():
            send_queued_subscriptions(budget_seconds=30)
        drain = time.monotonic() - started
        sent = Subscription.objects.filter(state=SubscriptionState.SENT).count()
        calls = sandbox.requests().get("POST subscription/subscribe", {})
        answered = sum(calls.values())
        in_sandbox = len(sandbox.control("GET", "contacts")["contacts"])
    finally:
        sandbox.stop()
    once = answered == stored == sent == in_sandbox == accepted
    return [
        Figure(
            f"JSON subscribe endpoint, queued, {CLIENTS} clients, gunicorn -w {WORKERS}, "
            "PostgreSQL + Redis", accepted / elapsed, "subscriptions/s", target=TARGET,
            note=f"{accepted:,} accepted (202 queued), {refused} refused, in {elapsed:.1f} s; "
            f"{queued:,} stored queued",
        ),
        Figure(
            "queued subscriptions sent to the sandbox (Spotler rate limit off, 1 worker)",
            sent / drain if drain else 0.0, "subscriptions/s",
        ),
        Figure(
            "every accepted subscription reached the sandbox exactly once", 1.0 if once else 0.0,
            "yes=1", target=1,
            note=f"accepted {accepted:,}, stored {stored:,}, sent {sent:,}, subscribe calls "
            f"answered {answered:,} ({calls}), contacts in the sandbox {in_sandbox:,}",
        ),
    ]  # fmt: skip
