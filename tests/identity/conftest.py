import pytest


@pytest.fixture
def sandbox(spotler_sandbox, catalogue, settings):
    """The sandbox as our Spotler account (its catalogue fetched), with no rate limit: the
    reconciliation and the push talk to it through the client the settings describe."""
    spotler_sandbox.set(rate_limit=0)
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    settings.SPOTLER_RATE_LIMIT = 0
    return spotler_sandbox
