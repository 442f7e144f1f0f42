"""The sandbox checks every OAuth 1.0a signature the way Spotler does (spotler-api.md §2.2)."""

import time

import pytest
import requests
from django.conf import settings

from spotler.sandbox.auth import NonceMemory
from spotler.sandbox.state import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
from tests.spotler.sandbox_helpers import SignedApi, error_of

SEARCH = {"MPSearchQuery": "email=anna@example.nl", "pageSize": "1"}


@pytest.mark.parametrize("base", ["base_url", "base_url_v110"])
def test_a_request_signed_with_the_demo_pair_is_answered_on_both_base_paths(spotler_sandbox, base):
    api = SignedApi(
        getattr(spotler_sandbox, base),
        spotler_sandbox.consumer_key,
        spotler_sandbox.consumer_secret,
    )

    response = api.get("contact/properties/list")

    assert response.status_code == 200
    assert "permissions" in [p["name"] for p in response.json()]


def test_the_demo_pair_is_the_one_in_the_projects_settings():
    assert (settings.SANDBOX_CONSUMER_KEY, settings.SANDBOX_CONSUMER_SECRET) == (
        DEMO_CONSUMER_KEY,
        DEMO_CONSUMER_SECRET,
    )


def test_an_unknown_consumer_key_is_refused_naming_the_key(spotler_sandbox):
    api = SignedApi(spotler_sandbox.base_url, "who-is-this", spotler_sandbox.consumer_secret)

    status, error_type, message = error_of(api.get("contact/properties/list"))

    assert (status, error_type) == (401, "NOT_AUTHORIZED")
    assert "Unknown consumer key 'who-is-this'" in message


def test_a_wrong_secret_is_refused_as_an_invalid_signature(spotler_sandbox):
    api = SignedApi(spotler_sandbox.base_url, spotler_sandbox.consumer_key, "not-the-secret")

    status, error_type, message = error_of(api.get("contact/properties/list"))

    assert (status, error_type) == (401, "NOT_AUTHORIZED")
    assert message.startswith("Invalid signature")


def test_a_query_parameter_changed_by_a_third_party_after_signing_is_refused(api):
    signed = requests.Request(
        "GET", f"{api.base_url}/contact/search", params=SEARCH, auth=api.auth()
    ).prepare()
    signed.url = signed.url.replace("anna%40example.nl", "someone-else%40example.nl")

    response = api.session.send(signed, timeout=10)

    assert error_of(response)[:2] == (401, "NOT_AUTHORIZED")
    assert "Invalid signature" in response.json()["message"]


def test_a_client_that_leaves_the_query_out_of_the_signature_is_refused(api):
    # The bug larsvg/spotler-client had until commit 0511a11 (spotler-api.md §12).
    signed = requests.Request("GET", f"{api.base_url}/contact/search", auth=api.auth()).prepare()
    signed.url += "?MPSearchQuery=email%3Danna%40example.nl&pageSize=1"

    response = api.session.send(signed, timeout=10)

    assert response.status_code == 401


def test_the_same_call_signed_with_its_query_is_answered(api):
    assert api.get("contact/search", params=SEARCH).status_code == 200


def test_the_json_body_is_not_part_of_the_signature(api):
    signed = requests.Request(
        "POST",
        f"{api.base_url}/contact",
        json={"update": True, "contact": {"externalId": "c-1"}},
        auth=api.auth(),
    ).prepare()
    signed.body = b'{"update": true, "contact": {"externalId": "c-2"}}'
    signed.headers["Content-Length"] = str(len(signed.body))

    assert api.session.send(signed, timeout=10).status_code == 204
    assert api.get("contact/c-2").status_code == 200


@pytest.mark.parametrize("offset", [-600, +600], ids=["ten minutes old", "ten minutes ahead"])
def test_a_timestamp_more_than_five_minutes_off_is_refused_as_stale(api, offset):
    response = api.get("contact/properties/list", timestamp=str(int(time.time()) + offset))

    status, error_type, message = error_of(response)
    assert (status, error_type) == (401, "NOT_AUTHORIZED")
    assert message.startswith("Stale timestamp")


def test_a_timestamp_four_minutes_off_is_accepted(api):
    response = api.get("contact/properties/list", timestamp=str(int(time.time()) - 240))

    assert response.status_code == 200


def test_a_reused_nonce_is_refused_as_a_replay(api):
    first = api.get("contact/properties/list", nonce="the-same-nonce-twice")
    second = api.get("contact/properties/list", nonce="the-same-nonce-twice")

    assert first.status_code == 200
    status, error_type, message = error_of(second)
    assert (status, error_type) == (401, "NOT_AUTHORIZED")
    assert message.startswith("Nonce already used")


def test_a_replayed_request_is_refused(api):
    signed = requests.Request(
        "GET", f"{api.base_url}/contact/properties/list", auth=api.auth()
    ).prepare()

    assert api.session.send(signed, timeout=10).status_code == 200
    assert api.session.send(signed, timeout=10).status_code == 401


def test_a_nonce_refused_for_a_bad_signature_can_still_be_used_by_the_real_client(
    spotler_sandbox, api
):
    forger = SignedApi(spotler_sandbox.base_url, spotler_sandbox.consumer_key, "guessed")

    assert forger.get("contact/properties/list", nonce="n-1").status_code == 401
    assert api.get("contact/properties/list", nonce="n-1").status_code == 200


def test_an_unsigned_request_is_refused(spotler_sandbox):
    response = requests.get(f"{spotler_sandbox.base_url}/contact/properties/list", timeout=10)

    status, error_type, message = error_of(response)
    assert (status, error_type) == (401, "NOT_AUTHORIZED")
    assert message.startswith("No OAuth credentials")


def test_oauth_parameters_in_the_query_string_are_accepted(api):
    response = api.get("contact/search", params=SEARCH, signature_type="query")

    assert response.status_code == 200


def test_a_plaintext_signature_is_refused(api):
    response = api.get("contact/properties/list", signature_method="PLAINTEXT")

    assert error_of(response)[0] == 401
    assert "HMAC-SHA1" in response.json()["message"]


def test_nonces_are_forgotten_once_their_timestamp_could_no_longer_be_accepted():
    memory = NonceMemory(window=300)
    sent_at = 1_000_000.0

    assert memory.first_use("key", "n-1", sent_at, now=sent_at)
    assert not memory.first_use("key", "n-1", sent_at, now=sent_at + 299)
    assert memory.first_use("key", "n-2", sent_at + 301, now=sent_at + 301)

    assert len(memory) == 1
