"""Retries against the sandbox's injected faults: 429 with Retry-After, 5xx, hanging requests;
and the failures that must never be retried (spotler-api.md §13.1)."""

import logging
import socket
import time

import pytest

from spotler import Contact, RetryPolicy, SpotlerError, client_from_settings
from tests.spotler.client_helpers import count, make_client

PROPERTIES = "GET contact/properties/list"


def test_a_429_waits_as_long_as_retry_after_asks_then_succeeds(spotler_sandbox):
    client = make_client(spotler_sandbox)
    spotler_sandbox.control("POST", "burst429", json={"count": 2, "retry_after": 1})

    started = time.monotonic()
    assert client.list_properties()
    elapsed = time.monotonic() - started

    assert elapsed >= 2.0
    assert count(spotler_sandbox, PROPERTIES, 429) == 2
    assert count(spotler_sandbox, PROPERTIES, 200) == 1


def test_a_retry_after_beyond_the_cap_is_raised_at_once_with_the_wait(spotler_sandbox):
    client = make_client(spotler_sandbox, retry=RetryPolicy(max_retry_after=2, base_delay=0.05))
    spotler_sandbox.control("POST", "burst429", json={"count": 1, "retry_after": 60})

    with pytest.raises(SpotlerError) as caught:
        client.list_properties()

    error = caught.value
    assert error.status == 429 and not error.permanent and error.retry_after == 60
    assert count(spotler_sandbox, PROPERTIES) == 1


def test_a_503_is_retried_and_the_call_then_succeeds(spotler_sandbox):
    spotler_sandbox.set(error_rate=1, error_statuses=[503])
    events = []

    def heal(event) -> None:
        events.append(event)
        spotler_sandbox.set(error_rate=0)

    client = make_client(spotler_sandbox, on_retry=heal)

    assert client.list_properties()

    assert count(spotler_sandbox, PROPERTIES, 503) == 1
    assert count(spotler_sandbox, PROPERTIES, 200) == 1
    (event,) = events
    assert event.operation == PROPERTIES and event.attempt == 1
    assert event.error.status == 503 and 0 < event.wait <= 0.2


def test_5xx_answers_are_retried_a_bounded_number_of_times(spotler_sandbox, caplog):
    spotler_sandbox.set(error_rate=1, error_statuses=[500, 503])
    client = make_client(spotler_sandbox, retry=RetryPolicy(max_retries=2, base_delay=0.05))

    with (
        caplog.at_level(logging.WARNING, logger="spotler.client"),
        pytest.raises(SpotlerError) as caught,
    ):
        client.list_properties()

    error = caught.value
    assert error.status in (500, 503) and not error.permanent and error.attempts == 3
    assert count(spotler_sandbox, PROPERTIES) == 3
    assert len([r for r in caplog.records if "retry" in r.getMessage()]) == 2


def test_a_hanging_request_times_out_and_is_raised_as_transient(spotler_sandbox):
    spotler_sandbox.set(hang_rate=1, hang_seconds=3)
    client = make_client(
        spotler_sandbox, timeout=(1.0, 0.5), retry=RetryPolicy(max_retries=1, base_delay=0.05)
    )

    started = time.monotonic()
    with pytest.raises(SpotlerError) as caught:
        client.list_properties()

    error = caught.value
    assert error.status is None and not error.permanent and error.attempts == 2
    assert str(error) == (
        "Spotler did not answer within 0.5 s (GET contact/properties/list, read timeout)"
    )
    assert time.monotonic() - started < 2.5


def test_the_configured_client_waits_spotler_read_timeout_for_an_answer(spotler_sandbox, settings):
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    settings.SPOTLER_READ_TIMEOUT = 0.5
    spotler_sandbox.set(hang_rate=1, hang_seconds=3)
    client = client_from_settings(retry=RetryPolicy(max_retries=0))

    with pytest.raises(SpotlerError) as caught:
        client.list_properties()

    assert "did not answer within 0.5 s" in str(caught.value)
    assert caught.value.transient


def test_a_hanging_request_is_retried_and_then_succeeds(spotler_sandbox):
    spotler_sandbox.set(hang_rate=1, hang_seconds=3)
    client = make_client(
        spotler_sandbox, timeout=(1.0, 0.5), on_retry=lambda event: spotler_sandbox.set(hang_rate=0)
    )

    assert client.list_properties()


def test_a_400_is_never_retried(spotler_sandbox):
    client = make_client(spotler_sandbox)

    with pytest.raises(SpotlerError) as caught:
        client.upsert_contact(Contact(external_id="cust-1", properties={"email": "nope"}))

    assert caught.value.permanent and caught.value.attempts == 1
    assert count(spotler_sandbox, "POST contact") == 1


def test_a_wrong_secret_is_a_401_that_is_never_retried(spotler_sandbox):
    client = make_client(spotler_sandbox, consumer_secret="not-the-secret")

    with pytest.raises(SpotlerError) as caught:
        client.list_properties()

    error = caught.value
    assert error.status == 401 and error.error_type == "NOT_AUTHORIZED" and error.permanent
    assert error.attempts == 1
    assert count(spotler_sandbox, PROPERTIES) == 1


def test_an_unknown_key_is_a_401_too(spotler_sandbox):
    client = make_client(spotler_sandbox, consumer_key="nobody-we-know")

    with pytest.raises(SpotlerError) as caught:
        client.list_properties()

    assert caught.value.status == 401 and caught.value.permanent


def test_a_spotler_that_cannot_be_reached_is_transient_and_retried(caplog):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    from spotler import SpotlerClient

    client = SpotlerClient(
        base_url=f"http://127.0.0.1:{port}/integrationservice",
        consumer_key="k",
        consumer_secret="s",
        retry=RetryPolicy(max_retries=2, base_delay=0.01),
    )

    with pytest.raises(SpotlerError) as caught:
        client.list_properties()

    error = caught.value
    assert error.status is None and not error.permanent and error.attempts == 3
    assert str(error).startswith("Spotler could not be reached")


def test_the_sandbox_rate_limit_is_ridden_out_with_retry_after(spotler_sandbox):
    spotler_sandbox.set(rate_limit=3)
    client = make_client(spotler_sandbox, retry=RetryPolicy(max_retries=6, base_delay=0.05))

    for n in range(8):
        client.upsert_contact(Contact(external_id=f"cust-{n}", properties={"email": f"{n}@x.nl"}))

    assert count(spotler_sandbox, "POST contact", 204) == 8
    assert count(spotler_sandbox, "POST contact", 429) >= 1
