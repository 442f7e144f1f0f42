"""Helpers that tests in several packages share (each package's own are in its helpers.py)."""

import threading
import time

import pytest
from django.db import connection

import spotler

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks and real concurrency: PostgreSQL only"
)


def run_at_once(*calls) -> list[BaseException]:
    """Run each call in its own thread (own connection), released together; return errors."""
    start = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call):
        try:
            start.wait(5)
            call()
        except BaseException as error:  # reported to the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    return errors


def wait_for(condition, *, seconds: float = 30) -> bool:
    """Poll `condition` four times a second until it holds (True) or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


def sandbox_client(
    sandbox, *, base_url: str | None = None, secret: str | None = None, timeout=None
) -> spotler.SpotlerClient:
    """Our client against the sandbox, without retries (a test wants the first answer).

    `base_url`: another of the sandbox's paths (e.g. `base_url_v110`); `secret`: a wrong one.
    """
    return spotler.SpotlerClient(
        base_url=base_url or sandbox.base_url,
        consumer_key=sandbox.consumer_key,
        consumer_secret=secret or sandbox.consumer_secret,
        retry=spotler.RetryPolicy(max_retries=0),
        **({"timeout": timeout} if timeout else {}),
    )
