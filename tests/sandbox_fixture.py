"""The `spotler_sandbox` fixture: a real Spotler sandbox over HTTP on a free loopback port.

One sandbox serves the whole test session (one per xdist worker) and is reset before each
test that asks for it. To use it in another folder, re-export both in its conftest.py:

    from tests import sandbox_fixture

    spotler_sandbox_server = sandbox_fixture.spotler_sandbox_server
    spotler_sandbox = sandbox_fixture.spotler_sandbox
"""

from collections.abc import Iterator

import pytest

from spotler.sandbox import RunningSandbox, serve_in_thread


@pytest.fixture(scope="session")
def spotler_sandbox_server() -> Iterator[RunningSandbox]:
    """The session's sandbox, started on first use and stopped at the end."""
    sandbox = serve_in_thread()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def spotler_sandbox(spotler_sandbox_server: RunningSandbox) -> RunningSandbox:
    """The sandbox, reset: empty account, default settings (rate limit 10/s), no counts.

    Has `.url`, `.base_url`, `.base_url_v110`, `.consumer_key`, `.consumer_secret`,
    `.other_consumer_key`/`.other_consumer_secret`, and the control helpers `.control()`,
    `.set()`, `.state()`, `.requests()`, `.contact()`.
    """
    spotler_sandbox_server.reset()
    return spotler_sandbox_server
