"""The public page /subscribe/<slug>/: a plain form with CSRF, a honeypot and field messages,
frameable by the form's allowed origins only."""

import re

import pytest
from django.test import Client

from public.models import Subscription
from tests.public.subscribe_helpers import (
    SHOP,
    fresh_limits,  # noqa: F401 - a fixture
    make_form,
    permission_on,
    sandbox_contacts,
    subscribe_calls,
)

pytestmark = pytest.mark.usefixtures("fresh_limits")
URL = "/subscribe/newsletter/"


def csrf_client() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    page = client.get(URL).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    return client, token


def test_a_visitor_subscribes_and_sees_the_thank_you_text(lists_sandbox, catalogue):
    make_form()
    client, token = csrf_client()
    response = client.post(
        URL, {"csrfmiddlewaretoken": token, "email": "anna@example.com", "firstName": "Anna",
              "loyaltyPoints": "", "website": ""},
    )  # fmt: skip

    assert response.status_code == 200
    assert "Thanks! Check your inbox." in response.content.decode()
    [contact] = sandbox_contacts(lists_sandbox, "anna@example.com")
    assert permission_on(contact, 1)


def test_the_page_has_a_label_for_every_field_and_hides_the_honeypot(client, catalogue):
    make_form()
    page = client.get(URL).content.decode()

    for name in ("email", "firstName", "loyaltyPoints", "website"):
        assert f'<label for="field-{name}"' in page
    assert 'class="subscribe-extra" aria-hidden="true"' in page
    assert 'name="website" tabindex="-1"' in page


def test_a_post_without_csrf_token_or_trusted_origin_is_refused(lists_sandbox, catalogue):
    make_form()
    client = Client(enforce_csrf_checks=True)
    response = client.post(URL, {"email": "anna@example.com", "firstName": "Anna"})

    assert response.status_code == 403
    assert "please send the form again" in response.content.decode()
    assert not Subscription.objects.exists()
    foreign = client.post(
        URL, {"email": "anna@example.com", "firstName": "A"}, HTTP_ORIGIN="https://evil.example"
    )
    assert foreign.status_code == 403


def test_the_shops_own_html_form_may_post_from_an_allowed_origin(lists_sandbox, catalogue):
    make_form()
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        URL, {"email": "anna@example.com", "firstName": "Anna"}, HTTP_ORIGIN=SHOP
    )

    assert response.status_code == 200
    assert "Thanks! Check your inbox." in response.content.decode()


def test_an_invalid_email_is_explained_next_to_the_field(lists_sandbox, catalogue):
    make_form()
    client, token = csrf_client()
    response = client.post(
        URL, {"csrfmiddlewaretoken": token, "email": "anna@", "firstName": "", "loyaltyPoints": "x"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="field-email" name="email" value="anna@"' in page
    assert 'aria-invalid="true" aria-describedby="error-email"' in page
    assert re.search(r'id="error-email" [^>]*>“anna@” is not an e-mail address', page)
    assert "Please fill in First name." in page
    assert "“x” is not a number" in page
    assert not Subscription.objects.exists()


def test_the_honeypot_shows_the_thank_you_but_nothing_is_stored_or_sent(lists_sandbox, catalogue):
    make_form()
    client, token = csrf_client()
    response = client.post(
        URL, {"csrfmiddlewaretoken": token, "email": "bot@example.com", "firstName": "B",
              "website": "http://spam.example"},
    )  # fmt: skip

    assert "Thanks! Check your inbox." in response.content.decode()
    assert not Subscription.objects.exists()
    assert not subscribe_calls(lists_sandbox)


def test_a_flood_from_one_address_is_slowed_on_the_page_too(
    client, lists_sandbox, catalogue, settings
):
    settings.PUBLIC_SUBSCRIBE_RATE_PER_ADDRESS = "2/m"
    make_form()
    answers = [client.post(URL, {"email": f"n{i}@example.com", "firstName": "N"}) for i in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[-1]["Retry-After"]) >= 1
    assert "Too many tries" in answers[-1].content.decode()


def test_only_the_allowed_origins_may_frame_the_page(client, catalogue):
    make_form(allowed_origins=[SHOP, "http://localhost:8080"])
    response = client.get(URL)

    policy = response["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://shop.example.com http://localhost:8080" in policy
    assert "X-Frame-Options" not in response
    make_form(allowed_origins=[])
    closed = client.get(URL)
    assert "frame-ancestors 'self'" in closed["Content-Security-Policy"]
    assert closed["X-Frame-Options"] == "SAMEORIGIN"


def test_a_switched_off_or_unknown_form_is_a_404_that_reveals_nothing(client, db):
    make_form(enabled=False)
    off = client.get(URL)
    unknown = client.get("/subscribe/nothing-here/")

    assert off.status_code == unknown.status_code == 404
    assert off.content == unknown.content
    assert b"newsletter" not in off.content
