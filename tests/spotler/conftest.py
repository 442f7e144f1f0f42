import pytest

from tests.spotler.sandbox_helpers import SignedApi

# `spotler_sandbox` itself comes from tests/conftest.py (tests/sandbox_fixture.py).


@pytest.fixture
def api(spotler_sandbox) -> SignedApi:
    """The demo credential on the unversioned path, rate limit off (most tests are not about it)."""
    spotler_sandbox.set(rate_limit=0)
    return SignedApi(
        spotler_sandbox.base_url, spotler_sandbox.consumer_key, spotler_sandbox.consumer_secret
    )


@pytest.fixture
def api_v110(spotler_sandbox, api) -> SignedApi:
    """The demo credential on the 1.1.0 path."""
    return SignedApi(
        spotler_sandbox.base_url_v110, spotler_sandbox.consumer_key, spotler_sandbox.consumer_secret
    )


@pytest.fixture
def other_api(spotler_sandbox, api) -> SignedApi:
    """Another system's credential on the same account."""
    return SignedApi(
        spotler_sandbox.base_url,
        spotler_sandbox.other_consumer_key,
        spotler_sandbox.other_consumer_secret,
    )
