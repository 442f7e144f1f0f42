"""Helpers that tests in several packages share (each package's own are in its helpers.py)."""

import threading
import time

import pytest
from django.db import connection

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
