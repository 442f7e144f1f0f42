"""A Marketer finds, on the contacts pages, a contact who unsubscribed in Spotler and one whose
mail bounced: what Spotler reported shows by the permission's name, each is found with a filter,
what came back reads as sentences, and no contacts page scrolls sideways at 1280 px."""

import os

from django.db import connection
from playwright.sync_api import Page, expect

from contacts.ingest import upsert_contact
from contacts.models import Contact, SyncStatus
from spotlersync.roles import Role
from tests.conftest import transactional
from tests.contacts.standing_helpers import unsubscribed_and_bounced
from tests.e2e import screenshots
from tests.helpers import sandbox_client

# Screenshots for a person to look at (not compared): CONTACT_SCREENSHOTS=/some/folder.
SCREENSHOTS = os.environ.get("CONTACT_SCREENSHOTS", "")
REFUSED = (
    "Spotler: “Property is invalid” (400 INVALID_PARAMS). Refused value: postalCode (from the "
    "shop's postcode) “ZZZ-not-a-postcode” is not a Dutch postcode such as 1234 AB. Spotler "
    "refused a value we sent. Fix it in the shop or the mapping."
)


def shoot(page: Page, name: str) -> None:
    screenshots.shoot(page, name, folder=SCREENSHOTS)


def assert_fits(page: Page, width: int) -> None:
    """Nothing sticks out sideways: no page scroll, and the table's last column is in view."""
    page.set_viewport_size({"width": width, "height": 900})
    sideways = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert sideways <= 0, f"{page.url} scrolls {sideways} px sideways at {width} px"
    wide = page.evaluate(
        """() => [...document.querySelectorAll('main table')].filter(t =>
               t.getBoundingClientRect().right > t.parentElement.getBoundingClientRect().right + 1
           ).length"""
    )
    assert wide == 0, f"a table on {page.url} is wider than its container at {width} px"


def a_long_failed_contact() -> None:
    upsert_contact(external_id="C-DAAN-WITH-A-RATHER-LONG-CUSTOMER-NUMBER-0001", raw_fields={
        "email": "daan.van.der.heijden-vanderzwaluw@a-very-long-domain-name.example.com",
        "first_name": "Daan", "last_name": "van der Heijden-Vanderzwaluw",
        "account_manager": "Joost van Oldenbarnevelt", "language": "nl-BE",
        "postcode": "ZZZ-not-a-postcode"})  # fmt: skip
    Contact.objects.filter(external_id__startswith="C-DAAN").update(
        sync_status=SyncStatus.FAILED, sync_error=REFUSED
    )


@transactional
def test_an_unsubscribed_and_a_bounced_contact_are_shown_found_and_explained(
    live_server, log_in, spotler_sandbox, catalogue
):
    spotler_sandbox.set(rate_limit=0)
    unsubscribed_and_bounced(sandbox_client(spotler_sandbox), spotler_sandbox)
    a_long_failed_contact()
    connection.close()  # the live server's thread reads what this one wrote

    page = log_in("maria", Role.MARKETER)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/contacts/")
    table = page.get_by_test_id("contact-table")
    anna = table.get_by_test_id("contact-row").filter(has_text="C-ANNA")
    expect(anna.get_by_test_id("consent")).to_have_text("Newsletter: unsubscribed in Spotler")
    expect(anna.get_by_test_id("sync-state")).to_have_class("badge badge-synced badge-quiet")
    bram = table.get_by_test_id("contact-row").filter(has_text="C-BRAM")
    expect(bram.get_by_test_id("bounced-state")).to_have_text("bounced")
    expect(bram.get_by_test_id("sync-state")).to_have_class("badge badge-synced badge-quiet")
    chloe = table.get_by_test_id("contact-row").filter(has_text="C-CHLOE")
    expect(chloe.get_by_test_id("consent")).to_have_text("Newsletter: on")
    expect(chloe.get_by_test_id("sync-state")).to_have_class("badge badge-synced")
    daan = table.get_by_test_id("contact-row").filter(has_text="C-DAAN")
    expect(daan.get_by_test_id("failure-reason")).to_contain_text(
        "Spotler: “Property is invalid” (400 INVALID_PARAMS). Refused value: postalCode"
    )
    expect(table.get_by_role("columnheader", name="Last change")).to_be_in_viewport()
    assert_fits(page, 1280)
    shoot(page, "contacts-list")

    # The permission filter finds the unsubscribe; the counts follow it.
    page.set_viewport_size({"width": 1280, "height": 900})
    filters = page.get_by_test_id("contact-filters")
    filters.get_by_label("Permission in Spotler").select_option(
        label="Newsletter: unsubscribed in Spotler"
    )
    filters.get_by_role("button", name="Search").click()
    expect(table.get_by_test_id("contact-row")).to_have_count(1)
    expect(table).to_contain_text("C-ANNA")
    expect(page.get_by_test_id("state-count-synced")).to_contain_text("1")
    expect(page.get_by_test_id("state-count-failed")).to_contain_text("0")
    shoot(page, "contacts-list-unsubscribed")

    filters.get_by_label("Permission in Spotler").select_option(label="Any permission")
    filters.get_by_label("Sync state").select_option(label="Bounced")
    filters.get_by_role("button", name="Search").click()
    expect(table.get_by_test_id("contact-row")).to_have_count(1)
    expect(table).to_contain_text("C-BRAM")

    # Anna's page: the shop's "yes" beside Spotler's "off", and the feed read out.
    page.goto(f"{live_server.url}/contacts/C-ANNA/")
    fields = page.get_by_test_id("source-fields")
    newsletter = fields.get_by_role("row").filter(has_text="newsletter")
    expect(newsletter).to_contain_text("true")
    expect(newsletter.get_by_test_id("field-consent")).to_have_text(
        "Newsletter: unsubscribed in Spotler"
    )
    expect(page.get_by_test_id("change-sentence").first).to_contain_text(
        "The recipient unsubscribed from Newsletter in Spotler on "
    )
    expect(page.get_by_test_id("sync-timeline")).to_contain_text(
        "The recipient unsubscribed from Newsletter in Spotler."
    )
    expect(page.get_by_text("permission 1 switched off")).to_have_count(0)
    assert_fits(page, 1280)
    shoot(page, "contact-unsubscribed")

    page.goto(f"{live_server.url}/contacts/C-BRAM/")
    expect(page.get_by_test_id("bounced-state")).to_have_text("bounced")
    expect(page.get_by_test_id("changes")).to_contain_text(
        "Mail to bram@example.nl bounced (hard bounce) on "
    )
    assert_fits(page, 1280)
    shoot(page, "contact-bounced")

    page.goto(f"{live_server.url}/contacts/C-DAAN-WITH-A-RATHER-LONG-CUSTOMER-NUMBER-0001/")
    expect(page.get_by_test_id("sync-error")).to_have_text(REFUSED)
    assert_fits(page, 1280)
    shoot(page, "contact-failed")
