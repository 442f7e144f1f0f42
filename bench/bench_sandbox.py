"""The Spotler sandbox answers at least 500 signed requests per second.

The sandbox runs as the real `manage.py spotler_sandbox` command in its own process; separate
load processes call it the way the client does: requests + requests-oauthlib, OAuth 1.0a
signed, keep-alive sessions. Its rate limit is switched off for the run.
"""

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
from requests_oauthlib import OAuth1

from bench.figures import Figure
from spotler.sandbox.handle import SandboxHandle

ROOT = Path(__file__).resolve().parents[1]
TARGET = 500  # requests per second, from the issue
SECONDS = 6
LOAD_PROCESSES = 3
STARTUP_SECONDS = 30


@dataclass(frozen=True)
class Load:
    """What one load run measured."""

    rate: float  # 2xx answers per second, over all load processes
    failed: int  # non-2xx answers
    server_cpu_us: float  # the sandbox process's CPU time per request, in microseconds


@contextlib.contextmanager
def sandbox_command() -> Iterator[tuple[SandboxHandle, int]]:
    """`manage.py spotler_sandbox --port 0` in a subprocess; yields a handle and its pid."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "spotler_sandbox", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        first_line = process.stdout.readline() if process.stdout else ""
        if not first_line.startswith("Spotler sandbox on "):
            raise RuntimeError(f"the sandbox did not start: {first_line!r}")
        url = first_line.removeprefix("Spotler sandbox on ").strip()
        yield SandboxHandle(url), process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def load(kind: str, base_url: str, key: str, secret: str, start_at: float, worker: int):
    """One load process: signed calls from `start_at` for SECONDS; returns (ok, failed)."""
    session = requests.Session()
    session.auth = OAuth1(key, secret)
    session.headers["Accept"] = "application/json"
    ok = failed = n = 0
    time.sleep(max(0.0, start_at - time.time()))
    end = start_at + SECONDS
    while time.time() < end:
        if kind == "get":
            response = session.get(f"{base_url}/contact/bench-0", timeout=10)
        else:
            response = session.post(f"{base_url}/contact", json=upsert(worker, n), timeout=10)
        n += 1
        if response.ok:
            ok += 1
        else:
            failed += 1
    return ok, failed


def upsert(worker: int, n: int) -> dict:
    external_id = f"bench-{worker}-{n % 2000}"
    return {
        "update": True,
        "purge": False,
        "contact": {
            "externalId": external_id,
            "properties": {
                "email": f"{external_id}@example.com",
                "firstName": f"Bench {n}",
                "loyaltyPoints": n,
                "permissions": [{"bit": 1, "enabled": n % 2 == 0}],
            },
        },
    }


def measure(kind: str, sandbox: SandboxHandle, pid: int) -> Load:
    """Run the load processes against the sandbox and read what they and the server spent."""
    start_at = time.time() + 3  # the load processes start and import first
    args = [
        (kind, sandbox.base_url, sandbox.consumer_key, sandbox.consumer_secret, start_at, worker)
        for worker in range(LOAD_PROCESSES)
    ]
    with multiprocessing.get_context("spawn").Pool(LOAD_PROCESSES) as pool:
        cpu_before = cpu_seconds(pid)
        results = pool.starmap(load, args)
        cpu_used = cpu_seconds(pid) - cpu_before
    ok = sum(ok for ok, _ in results)
    failed = sum(failed for _, failed in results)
    return Load(ok / SECONDS, failed, cpu_used / max(1, ok + failed) * 1e6)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run() -> list[Figure]:
    with sandbox_command() as (sandbox, pid):
        sandbox.set(rate_limit=0)
        first = requests.post(
            f"{sandbox.base_url}/contact",
            json={"update": True, "contact": {"externalId": "bench-0", "properties": {}}},
            auth=OAuth1(sandbox.consumer_key, sandbox.consumer_secret),
            timeout=10,
        )
        first.raise_for_status()
        loads = {"GET contact/{externalId}": measure("get", sandbox, pid)}
        loads["POST contact (upsert)"] = measure("post", sandbox, pid)
    how = f"{LOAD_PROCESSES} load processes on the same machine, keep-alive, OAuth 1.0a signed"
    figures = []
    for endpoint, measured in loads.items():
        figures.append(
            Figure(
                f"sandbox {endpoint}",
                measured.rate,
                "requests/s",
                target=TARGET,
                note=f"{how}, {SECONDS} s; {measured.failed} non-2xx",
            )
        )
        figures.append(
            Figure(
                f"sandbox server CPU per {endpoint}",
                measured.server_cpu_us,
                "us",
                higher_is_better=False,
                note=f"about {1e6 / measured.server_cpu_us:,.0f} requests/s per core "
                "the server process gets",
            )
        )
    return figures
