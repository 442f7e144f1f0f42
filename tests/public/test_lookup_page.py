"""The public lookup page: a visitor's code searched in Spotler (the sandbox, over HTTP)."""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from tests.public.lookup_helpers import in_spotler, make_lookup_page, page_shape

URL = "/lookup/offer/"


@pytest.fixture(autouse=True)
def generous_limit(settings):
    # Counts may outlive a test in a Redis cache: only the rate-limit test counts tightly.
    settings.PUBLIC_LOOKUP_RATE_PER_ADDRESS = "1000/m"


@pytest.fixture
def spotler_account(lists_sandbox, catalogue):
    """The sandbox as our Spotler account, with its catalogue read, and a few contacts."""
    in_spotler(
        lists_sandbox, "C-1", email="anna@example.nl", firstName="Anna", lastName="de Vries",
        city="Utrecht", phoneNumber="+31612345678", discountCode="WELKOM-7Q2F", loyaltyPoints=410,
    )  # fmt: skip
    in_spotler(lists_sandbox, "C-2", email="piet@example.nl", firstName="Piet", discountCode="DUO")
    in_spotler(lists_sandbox, "C-3", email="jan@example.nl", firstName="Jan", discountCode="DUO")
    return lists_sandbox


def look_up(client, code, *, url: str = URL, address: str = "127.0.0.1"):
    return client.post(url, {"code": code}, REMOTE_ADDR=address)


def test_the_page_asks_for_the_code_in_a_plain_labelled_form(client, db):
    make_lookup_page()
    response = client.get(URL)
    text = response.content.decode()
    assert response.status_code == 200
    assert '<label for="code">Your discount code</label>' in text
    assert 'name="csrfmiddlewaretoken"' in text
    assert '<html lang="en">' in text


def test_a_valid_code_shows_the_found_text_and_only_the_configured_properties(
    client, spotler_account
):
    make_lookup_page()
    response = look_up(client, "WELKOM-7Q2F")
    text = response.content.decode()
    assert response.status_code == 200
    assert "Welcome back! Your offer is waiting." in text
    assert 'value="Anna"' in text  # prefilled
    assert "Utrecht" in text  # shown as text
    for secret in ("anna@example.nl", "de Vries", "+31612345678", "C-1", "410"):
        assert secret not in text


def test_a_code_is_found_whatever_its_case_and_the_spaces_around_it(client, spotler_account):
    make_lookup_page()
    assert 'value="Anna"' in look_up(client, "  welkom-7q2f ").content.decode()


def test_not_found_invalid_and_shared_codes_get_the_same_answer(client, spotler_account):
    make_lookup_page()
    unknown = look_up(client, "NOPE-0000")
    assert unknown.status_code == 200
    assert "Sorry, this code is not valid." in unknown.content.decode()
    others = {
        "empty": "",
        "spaces": "   ",
        "too long": "X" * 300,
        "a NUL byte": "WELKOM\x00-7Q2F",
        "a line break": "WELKOM\n-7Q2F",
        "held by two contacts": "DUO",
    }
    for what, code in others.items():
        answer = look_up(client, code)
        assert answer.status_code == unknown.status_code, what
        assert page_shape(answer) == page_shape(unknown), what


def test_a_code_of_the_wrong_type_gets_the_same_answer_as_an_unknown_one(client, spotler_account):
    make_lookup_page(search_property="loyaltyPoints")
    wrong_type = look_up(client, "ten")
    unknown = look_up(client, "999")
    assert wrong_type.status_code == unknown.status_code == 200
    assert page_shape(wrong_type) == page_shape(unknown)
    assert 'value="Anna"' in look_up(client, "410").content.decode()


def test_hostile_values_from_spotler_are_shown_as_text(client, lists_sandbox, catalogue):
    in_spotler(
        lists_sandbox, "C-9", email="x@example.nl", discountCode="EVIL",
        firstName='"onmouseover=alert(1) x="', city="<script>alert(1)</script>",
    )  # fmt: skip
    make_lookup_page(found_text="<b>Hi</b>")
    text = look_up(client, "EVIL").content.decode()
    assert "<script>alert(1)" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert '"onmouseover=' not in text
    assert 'value="&quot;onmouseover=alert(1) x=&quot;"' in text
    assert "&lt;b&gt;Hi&lt;/b&gt;" in text


def test_guessing_from_one_address_is_slowed_with_a_friendly_page(
    client, spotler_account, settings
):
    settings.PUBLIC_LOOKUP_RATE_PER_ADDRESS = "3/h"
    make_lookup_page()
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    for code in ("A-1", "A-2", "A-3"):
        assert look_up(client, code, address=address).status_code == 200
    limited = look_up(client, "WELKOM-7Q2F", address=address)
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    text = limited.content.decode()
    assert "You have tried many codes in a short time" in text
    assert "Anna" not in text
    # Another address is not held back.
    assert 'value="Anna"' in look_up(client, "WELKOM-7Q2F", address="10.0.0.99").content.decode()


def test_a_disabled_or_unknown_page_is_not_found_and_says_nothing(client, db):
    page = make_lookup_page(enabled=False)
    off = client.get(URL)
    assert look_up(client, "WELKOM-7Q2F").status_code == 404
    page.delete()
    unknown = client.get(URL)
    assert off.status_code == unknown.status_code == 404
    assert page_shape(off) == page_shape(unknown)


def test_when_spotler_is_down_the_visitor_is_asked_to_try_later(client, spotler_account):
    spotler_account.set(error_rate=1.0)
    make_lookup_page()
    response = look_up(client, "WELKOM-7Q2F")
    assert response.status_code == 503
    assert "Codes cannot be checked right now" in response.content.decode()


def test_a_post_without_the_csrf_token_is_refused(db):
    make_lookup_page()
    response = Client(enforce_csrf_checks=True).post(URL, {"code": "WELKOM-7Q2F"})
    assert response.status_code == 403


def test_no_site_may_frame_the_page_unless_the_settings_name_it(client, db, settings):
    make_lookup_page()
    closed = client.get(URL)
    assert "frame-ancestors 'none'" in closed["Content-Security-Policy"]
    assert closed["X-Frame-Options"] == "DENY"
    settings.PUBLIC_LOOKUP_FRAME_ANCESTORS = ["https://shop.example"]
    open_ = client.get(URL)
    assert "frame-ancestors https://shop.example" in open_["Content-Security-Policy"]
    assert "X-Frame-Options" not in open_
    # The dashboard stays unframable.
    assert "frame-ancestors 'none'" in client.get(reverse("login"))["Content-Security-Policy"]
