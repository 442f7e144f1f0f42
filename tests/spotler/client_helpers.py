"""Building a Spotler client for the tests: sandbox credentials and short waits."""

from spotler import RetryPolicy, SpotlerClient

# Real waits, but short: a test sees every retry happen without sitting through seconds.
QUICK_RETRIES = RetryPolicy(max_retries=3, base_delay=0.05, max_delay=0.2, max_retry_after=5)


def make_client(sandbox, *, v110: bool = False, **options) -> SpotlerClient:
    """A client for the sandbox's demo credential, on the unversioned or the 1.1.0 path."""
    options.setdefault("consumer_key", sandbox.consumer_key)
    options.setdefault("consumer_secret", sandbox.consumer_secret)
    options.setdefault("retry", QUICK_RETRIES)
    options.setdefault("timeout", (2.0, 10.0))
    base_url = sandbox.base_url_v110 if v110 else sandbox.base_url
    return SpotlerClient(base_url=base_url, **options)


def count(sandbox, endpoint: str, status: int | None = None) -> int:
    """How many requests the sandbox saw for `METHOD path`, with one status or any."""
    by_status = sandbox.requests().get(endpoint, {})
    if status is not None:
        return by_status.get(str(status), 0)
    return sum(by_status.values())
