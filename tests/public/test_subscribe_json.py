"""The JSON endpoint a shop's own form posts to: origins, preflight, checks, limits, honeypot."""

import json

import pytest

from public.models import Subscription, SubscriptionState
from tests.public.subscribe_helpers import (
    JSON_URL,
    SHOP,
    fresh_limits,  # noqa: F401 - a fixture
    make_form,
    permission_on,
    post_json,
    sandbox_contacts,
    subscribe_calls,
)

pytestmark = pytest.mark.usefixtures("fresh_limits")


def test_a_subscription_from_the_shop_reaches_spotler_at_once_with_the_permission_on(
    client, lists_sandbox, catalogue
):
    make_form()
    response = post_json(
        client, {"email": "anna@example.com", "firstName": "Anna", "loyaltyPoints": 5}
    )

    assert response.status_code == 202
    assert response.json() == {"status": "subscribed"}
    assert response["Access-Control-Allow-Origin"] == SHOP
    [contact] = sandbox_contacts(lists_sandbox, "anna@example.com")
    assert contact["properties"]["firstName"] == "Anna"
    assert contact["properties"]["loyaltyPoints"] == 5
    assert permission_on(contact, 1)
    assert Subscription.objects.get().state == SubscriptionState.SENT


def test_a_foreign_origin_is_refused_and_nothing_is_stored(client, lists_sandbox, catalogue):
    make_form()
    response = post_json(
        client, {"email": "anna@example.com", "firstName": "A"}, origin="https://evil.example"
    )

    assert response.status_code == 403
    assert response.json()["error"] == "origin_refused"
    assert "Access-Control-Allow-Origin" not in response
    assert not Subscription.objects.exists()
    assert not subscribe_calls(lists_sandbox)


def test_the_preflight_of_an_allowed_origin_is_answered_with_what_the_browser_needs(client, db):
    make_form()
    response = client.options(
        JSON_URL, HTTP_ORIGIN=SHOP, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )  # fmt: skip

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "content-type" in response["Access-Control-Allow-Headers"].lower()
    refused = client.options(JSON_URL, HTTP_ORIGIN="https://evil.example")
    assert refused.status_code == 403


def test_an_invalid_email_gets_a_message_that_says_what_to_fix(client, lists_sandbox, catalogue):
    make_form()
    response = post_json(client, {"email": "anna at example", "firstName": "Anna"})

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_fields"
    assert "is not an e-mail address" in body["fields"]["email"]
    assert "anna@example.com" in body["fields"]["email"]  # an example of what it should be
    assert not Subscription.objects.exists()


def test_wrong_types_unknown_fields_and_missing_required_ones_are_named_per_field(
    client, lists_sandbox, catalogue
):
    make_form()
    response = post_json(
        client, {"email": "anna@example.com", "loyaltyPoints": "lots", "shoeSize": 42}
    )

    fields = response.json()["fields"]
    assert response.status_code == 422
    assert (
        fields["loyaltyPoints"]
        == "Loyalty points: “lots” is not a number. Please enter a whole number."
    )
    assert fields["firstName"] == "Please fill in First name."
    assert fields["shoeSize"].startswith("This form does not ask for this field")


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [("{not json", 400, "malformed_json"), ("[1, 2]", 400, "malformed_json"),
     (json.dumps({"email": "a@example.com", "firstName": "x" * 10_000}), 413, "body_too_large")],
)  # fmt: skip
def test_a_malformed_or_too_large_body_is_refused_in_words(client, db, body, status, error):
    make_form()
    response = post_json(client, body)

    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["detail"]


def test_the_honeypot_answers_like_success_but_nothing_is_stored_or_sent(
    client, lists_sandbox, catalogue
):
    make_form()
    response = post_json(
        client, {"email": "bot@example.com", "firstName": "Bot", "website": "http://spam.example"}
    )

    assert response.status_code == 202
    assert response.json() == {"status": "subscribed"}  # as a real sign-up is answered
    assert not Subscription.objects.exists()
    assert not subscribe_calls(lists_sandbox)


def test_a_flood_from_one_address_is_slowed_with_429_and_retry_after(
    client, lists_sandbox, catalogue, settings
):
    settings.PUBLIC_SUBSCRIBE_RATE_PER_ADDRESS = "5/m"
    settings.PUBLIC_SUBSCRIBE_TRY_AT_ONCE = False
    make_form()
    answers = [
        post_json(client, {"email": f"n{i}@example.com", "firstName": "N"}) for i in range(8)
    ]

    assert [a.status_code for a in answers] == [202] * 5 + [429] * 3
    assert 1 <= int(answers[-1]["Retry-After"]) <= 60
    assert answers[-1]["Access-Control-Allow-Origin"] == SHOP  # the shop's script can read it
    assert Subscription.objects.count() == 5


def test_one_email_address_is_limited_whatever_address_it_comes_from(
    client, lists_sandbox, catalogue, settings
):
    settings.PUBLIC_SUBSCRIBE_RATE_PER_EMAIL = "2/h"
    make_form()
    answers = [
        post_json(
            client, {"email": "anna@example.com", "firstName": "A"}, REMOTE_ADDR=f"10.0.0.{i}"
        )
        for i in range(3)
    ]

    assert [a.status_code for a in answers] == [202, 202, 429]
    assert int(answers[-1]["Retry-After"]) > 60


def test_a_known_and_an_unknown_address_get_the_same_answer(client, lists_sandbox, catalogue):
    make_form()
    first = post_json(client, {"email": "anna@example.com", "firstName": "Anna"})
    again = post_json(client, {"email": "anna@example.com", "firstName": "Anna"})
    new = post_json(client, {"email": "bert@example.com", "firstName": "Bert"})

    assert first.content == again.content == new.content
    assert first.status_code == again.status_code == new.status_code == 202


def test_a_switched_off_or_unknown_form_answers_404_alike(client, db):
    make_form(enabled=False)
    off = post_json(client, {"email": "anna@example.com"})
    unknown = client.post(
        "/subscribe/nothing-here/json", data="{}", content_type="application/json"
    )

    assert off.status_code == unknown.status_code == 404
    assert off.content == unknown.content


def test_a_field_of_the_wrong_json_type_is_refused_not_turned_into_text(
    client, lists_sandbox, catalogue
):
    make_form()
    for value in (True, 42, ["Ann"], {"first": "Ann"}):
        response = post_json(client, {"email": "ann@example.com", "firstName": value})
        assert response.status_code == 422, value
        assert "send it as text (a JSON string)" in response.json()["fields"]["firstName"]
    assert not Subscription.objects.exists()
