import pytest

import spotler
from tests.helpers import sandbox_client


@pytest.fixture
def spotler_client(spotler_sandbox, catalogue) -> spotler.SpotlerClient:
    """Our client against the sandbox (its catalogue fetched), without retries or rate limit."""
    spotler_sandbox.set(rate_limit=0)
    return sandbox_client(spotler_sandbox, timeout=(2.0, 2.0))
