import pytest

import spotler


@pytest.fixture
def spotler_client(spotler_sandbox, catalogue) -> spotler.SpotlerClient:
    """Our client against the sandbox (its catalogue fetched), without retries or rate limit."""
    spotler_sandbox.set(rate_limit=0)
    return spotler.SpotlerClient(
        base_url=spotler_sandbox.base_url,
        consumer_key=spotler_sandbox.consumer_key,
        consumer_secret=spotler_sandbox.consumer_secret,
        retry=spotler.RetryPolicy(max_retries=0),
        timeout=(2.0, 2.0),
    )
