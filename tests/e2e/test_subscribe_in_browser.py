"""A visitor subscribes through the public page (fixing a mistyped address first) and the
sandbox then holds the contact with the permission on; an Admin sees the form's page. Every
page added fits at 1280 and 1440 px."""

import os
from pathlib import Path

from playwright.sync_api import Page, expect

from public.models import Subscription, SubscriptionState
from tests.conftest import transactional
from tests.public.subscribe_helpers import make_form, permission_on, sandbox_contacts

# Screenshots for a person to look at (not compared): SUBSCRIBE_SCREENSHOTS=/some/folder.
SCREENSHOTS = os.environ.get("SUBSCRIBE_SCREENSHOTS", "")
WIDTHS = (1280, 1440)


def look_at(page: Page, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        sideways = page.evaluate(
            "() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
        )
        assert sideways <= 0, f"{name} at {width}px scrolls sideways by {sideways}px"
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{SCREENSHOTS}/subscribe-{name}-{width}.png", full_page=True)


@transactional
def test_a_visitor_subscribes_through_the_page_and_spotler_has_them_with_the_permission_on(
    live_server, page, lists_sandbox, catalogue
):
    make_form(allowed_origins=[])
    page.goto(f"{live_server.url}/subscribe/newsletter/")
    look_at(page, "page")
    expect(page.get_by_label("Leave this field empty")).not_to_be_in_viewport()

    page.get_by_label("E-mail address").fill("anna@example")
    page.get_by_label("First name").fill("Anna")
    page.get_by_label("Loyalty points").fill("12")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_test_id("error-email")).to_contain_text("is not an e-mail address")
    expect(page.get_by_label("First name")).to_have_value("Anna")  # nothing typed is lost
    look_at(page, "page-problems")

    page.get_by_label("E-mail address").fill("anna@example.com")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_test_id("thank-you")).to_have_text("Thanks! Check your inbox.")
    look_at(page, "page-thanks")

    [contact] = sandbox_contacts(lists_sandbox, "anna@example.com")
    assert permission_on(contact, 1)
    assert contact["properties"]["firstName"] == "Anna"
    assert contact["properties"]["loyaltyPoints"] == 12
    assert Subscription.objects.get().state == SubscriptionState.SENT


@transactional
def test_an_admin_configures_a_form_and_sees_its_snippets_and_counts(
    live_server, page, log_in, lists_sandbox, catalogue
):
    form = make_form()
    Subscription.objects.create(
        form=form, email="gone@example.com", state=SubscriptionState.FAILED, attempts=1,
        error="Spotler answered 400 CONTACT_OPTOUT: Contact is blacklisted",
    )  # fmt: skip
    log_in("ada", "Admin")
    page.get_by_test_id("nav-more").click()
    page.get_by_test_id("main-nav").get_by_role("link", name="Subscribe forms").click()
    expect(page.get_by_test_id("subscribe-form")).to_contain_text("newsletter")
    look_at(page, "admin-list")

    page.get_by_role("link", name="newsletter").click()
    expect(page.get_by_test_id("waiting-subscription")).to_contain_text("CONTACT_OPTOUT")
    expect(page.get_by_test_id("html-snippet")).to_contain_text('name="website"')
    look_at(page, "admin-detail")

    page.get_by_role("button", name="Edit").click()
    page.get_by_role("checkbox", name="city", exact=True).check()
    page.get_by_label("Label of city").fill("Your city")
    page.get_by_label("Allowed origins").fill("https://shop.example.com/path")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("is not an origin")).to_be_visible()
    look_at(page, "admin-edit")
    page.get_by_label("Allowed origins").fill("https://shop.example.com")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("is saved; it is switched on")).to_be_visible()
    form.refresh_from_db()
    assert {"property": "city", "label": "Your city", "required": False} in form.extra_fields
