"""What the sandbox does to traffic: a per-credential rate limit with 429 and Retry-After,
bursts of 429, injected 5xx, hangs and latency; and how it counts requests."""

import threading
import time

import requests

from tests.spotler.sandbox_helpers import SignedApi, error_of

PROPERTIES = "contact/properties/list"


def demo_api(sandbox) -> SignedApi:
    return SignedApi(sandbox.base_url, sandbox.consumer_key, sandbox.consumer_secret)


def other_api(sandbox) -> SignedApi:
    return SignedApi(sandbox.base_url, sandbox.other_consumer_key, sandbox.other_consumer_secret)


def test_requests_beyond_the_rate_limit_get_429_with_retry_after(spotler_sandbox):
    spotler_sandbox.set(rate_limit=2)
    api = demo_api(spotler_sandbox)

    statuses = [api.get(PROPERTIES).status_code for _ in range(4)]
    refused = api.get(PROPERTIES)

    assert statuses[:2] == [200, 200] and 429 in statuses[2:]
    status, error_type, message = error_of(refused)
    assert (status, error_type) == (429, "TOO_MANY_REQUESTS")
    assert "Rate limit of 2 requests per second" in message
    assert int(refused.headers["Retry-After"]) >= 1


def test_a_client_that_waits_retry_after_gets_through(spotler_sandbox):
    spotler_sandbox.set(rate_limit=1)
    api = demo_api(spotler_sandbox)
    api.get(PROPERTIES)
    refused = api.get(PROPERTIES)

    time.sleep(int(refused.headers["Retry-After"]))

    assert refused.status_code == 429
    assert api.get(PROPERTIES).status_code == 200


def test_the_default_rate_limit_is_ten_per_second(spotler_sandbox):
    api = demo_api(spotler_sandbox)

    statuses = [api.get(PROPERTIES).status_code for _ in range(30)]

    assert spotler_sandbox.state()["settings"]["rate_limit"] == 10
    assert statuses[:10] == [200] * 10 and 429 in statuses


def test_the_rate_limit_is_per_credential(spotler_sandbox):
    spotler_sandbox.set(rate_limit=1)
    demo_api(spotler_sandbox).get(PROPERTIES)

    assert demo_api(spotler_sandbox).get(PROPERTIES).status_code == 429
    assert other_api(spotler_sandbox).get(PROPERTIES).status_code == 200


def test_a_rate_limit_of_zero_switches_it_off(spotler_sandbox):
    spotler_sandbox.set(rate_limit=0)
    api = demo_api(spotler_sandbox)

    assert {api.get(PROPERTIES).status_code for _ in range(30)} == {200}


def test_a_burst_answers_the_next_requests_with_429_and_the_retry_after_asked(spotler_sandbox):
    api = demo_api(spotler_sandbox)
    spotler_sandbox.control("POST", "burst429", {"count": 2, "retry_after": 7})

    first, second, third = (api.get(PROPERTIES) for _ in range(3))

    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["Retry-After"] == "7"
    assert error_of(first)[1] == "TOO_MANY_REQUESTS"


def test_an_error_rate_of_one_fails_every_request_without_handling_it(spotler_sandbox):
    spotler_sandbox.set(rate_limit=0, error_rate=1, error_statuses=[500, 503])
    api = demo_api(spotler_sandbox)

    statuses = set()
    for _ in range(10):
        response = api.post("contact", json={"update": True, "contact": {"externalId": "c-1"}})
        statuses.add(response.status_code)
        assert error_of(response)[1] == "BACKEND_EXCEPTION"

    assert statuses <= {500, 503} and statuses
    assert spotler_sandbox.state()["counts"]["contacts"] == 0
    spotler_sandbox.set(error_rate=0)
    assert api.get(PROPERTIES).status_code == 200


def test_a_hanging_request_does_not_hold_up_other_requests(spotler_sandbox):
    spotler_sandbox.set(rate_limit=0, hang_rate=1, hang_seconds=20)
    api = demo_api(spotler_sandbox)
    outcome = {}

    def hang() -> None:
        started = time.monotonic()
        try:
            response = api.get(PROPERTIES)
            outcome["status"] = response.status_code
        finally:
            outcome["seconds"] = time.monotonic() - started

    hanging = threading.Thread(target=hang)
    hanging.start()
    try:
        time.sleep(0.3)
        assert hanging.is_alive()
        spotler_sandbox.set(hang_rate=0)
        started = time.monotonic()
        assert demo_api(spotler_sandbox).get(PROPERTIES).status_code == 200
        assert time.monotonic() - started < 1
    finally:
        spotler_sandbox.reset()  # ends the hang: it answers 503 without being handled
        hanging.join(timeout=10)

    assert outcome["status"] == 503 and outcome["seconds"] < 10


def test_a_hang_answers_503_once_its_time_is_up(spotler_sandbox):
    spotler_sandbox.set(hang_rate=1, hang_seconds=0.5)

    started = time.monotonic()
    response = demo_api(spotler_sandbox).get(PROPERTIES)

    assert response.status_code == 503
    assert 0.5 <= time.monotonic() - started < 3


def test_a_client_timeout_on_a_hang_is_a_timeout(spotler_sandbox):
    spotler_sandbox.set(hang_rate=1, hang_seconds=5)
    api = demo_api(spotler_sandbox)

    try:
        api.session.get(f"{api.base_url}/{PROPERTIES}", auth=api.auth(), timeout=(2, 0.3))
        timed_out = False
    except requests.ReadTimeout:
        timed_out = True

    assert timed_out


def test_latency_is_added_to_every_api_request_but_not_to_control_calls(spotler_sandbox):
    spotler_sandbox.set(latency_ms=300)

    started = time.monotonic()
    assert demo_api(spotler_sandbox).get(PROPERTIES).status_code == 200
    api_seconds = time.monotonic() - started
    started = time.monotonic()
    spotler_sandbox.state()
    control_seconds = time.monotonic() - started

    assert api_seconds >= 0.3 and control_seconds < 0.3


def test_requests_are_counted_by_endpoint_and_status(spotler_sandbox):
    spotler_sandbox.set(rate_limit=0)
    api = demo_api(spotler_sandbox)
    api.upsert("c-1", email="anna@example.nl")
    api.upsert("c-2", email="pieter@example.nl")
    api.get("contact/c-1")
    api.get("contact/nobody")
    spotler_sandbox.control("POST", "burst429", {"count": 1})
    api.post("contact", json={"update": True, "contact": {"externalId": "c-3"}})

    assert spotler_sandbox.requests() == {
        "GET contact/{externalId}": {"200": 1, "404": 1},
        "POST contact": {"204": 2, "429": 1},
    }


def test_requests_are_counted_per_second_of_arrival_refused_ones_too(spotler_sandbox):
    spotler_sandbox.set(rate_limit=2)
    api = demo_api(spotler_sandbox)
    started = int(time.time())
    statuses = [api.get(PROPERTIES).status_code for _ in range(5)]
    spotler_sandbox.state()  # control calls are not API requests: not counted

    counted = spotler_sandbox.requests_per_second()
    assert 429 in statuses
    assert sum(counted["per_second"].values()) == 5
    assert all(int(second) >= started for second in counted["per_second"])
    assert counted["busiest"] == max(counted["per_second"].values())
    spotler_sandbox.reset()
    assert spotler_sandbox.requests_per_second() == {"per_second": {}, "busiest": 0}


def test_reset_empties_the_account_and_restores_the_default_settings(spotler_sandbox):
    spotler_sandbox.set(rate_limit=0, dedupe="email", templist_limit=3)
    demo_api(spotler_sandbox).upsert("c-1", email="anna@example.nl")

    spotler_sandbox.reset()

    state = spotler_sandbox.state()
    assert state["contacts"] == [] and state["counts"]["requests"] == 0
    assert state["settings"]["dedupe"] == "externalId"
    assert state["settings"]["templist_limit"] == 30
    assert state["settings"]["rate_limit"] == 10
