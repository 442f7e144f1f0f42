"""The Spotler sandbox as our account, with a credential of the test's own: its secret shares
no text with anything else, so a test can tell that no part of it ever reaches a page."""

import pytest

KEY = "shop-connection-key-0042"
SECRET = "Zq9Xw7Lk4Vb2Nm8Pt5Hj"
MASKED_KEY = "shop••••••42"


@pytest.fixture
def spotler_account(spotler_sandbox, settings):
    """Our settings pointed at the sandbox, the shared rate limit on (10 a second)."""
    spotler_sandbox.control("POST", "credentials", {"consumer_key": KEY, "consumer_secret": SECRET})
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    settings.SPOTLER_CONSUMER_KEY = KEY
    settings.SPOTLER_CONSUMER_SECRET = SECRET
    settings.SPOTLER_RATE_LIMIT = 10
    return spotler_sandbox


def shows_no_part_of_the_secret(text: str) -> bool:
    """No five characters in a row of the secret appear in `text`."""
    return not any(SECRET[i : i + 5] in text for i in range(len(SECRET) - 4))
