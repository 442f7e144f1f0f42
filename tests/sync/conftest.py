import pytest

import spotler
from identity.models import DedupeMode
from tests.helpers import sandbox_client
from tests.sync.helpers import dedupe_on


@pytest.fixture
def spotler_client(spotler_sandbox, catalogue) -> spotler.SpotlerClient:
    """Our client against the sandbox (its catalogue fetched), without retries or rate limit."""
    spotler_sandbox.set(rate_limit=0)
    return sandbox_client(spotler_sandbox, timeout=(2.0, 2.0))


@pytest.fixture
def email_sandbox(spotler_sandbox, catalogue, settings):
    """The sandbox as our Spotler account (for runs and the queue too), deduplicating on e-mail,
    and the Admin said so on the connection page: the guard on push is on."""
    spotler_sandbox.set(rate_limit=0, dedupe="email")
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    settings.SPOTLER_RATE_LIMIT = 0
    # One backfill worker: the helpers a backfill queues for a second one are not run in tests.
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "ALT_CLUSTERS": {"backfill": {"workers": 1}}}
    dedupe_on(DedupeMode.EMAIL)
    return spotler_sandbox
