import pytest

import spotler
from tests.helpers import sandbox_client


@pytest.fixture
def spotler_client(lists_sandbox) -> spotler.SpotlerClient:
    return sandbox_client(lists_sandbox, timeout=(2.0, 2.0))
