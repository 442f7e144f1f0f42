import pytest

import spotler


@pytest.fixture
def lists_sandbox(spotler_sandbox, settings):
    """The sandbox as our Spotler account: no rate limit, no retries waiting."""
    spotler_sandbox.set(rate_limit=0)
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    settings.SPOTLER_CONSUMER_KEY = spotler_sandbox.consumer_key
    settings.SPOTLER_CONSUMER_SECRET = spotler_sandbox.consumer_secret
    settings.SPOTLER_RATE_LIMIT = 0
    return spotler_sandbox


@pytest.fixture
def spotler_client(lists_sandbox) -> spotler.SpotlerClient:
    return spotler.SpotlerClient(
        base_url=lists_sandbox.base_url,
        consumer_key=lists_sandbox.consumer_key,
        consumer_secret=lists_sandbox.consumer_secret,
        retry=spotler.RetryPolicy(max_retries=0),
        timeout=(2.0, 2.0),
    )
