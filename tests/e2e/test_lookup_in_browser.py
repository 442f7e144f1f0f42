"""A visitor enters a valid code on a lookup page and sees it prefilled, then an invalid one and
sees the message; a Marketer searches Spotler; an Admin configures the page. Each page fits at
1280 and 1440 px (screenshots with LOOKUP_SCREENSHOTS=/some/folder)."""

import os

from playwright.sync_api import expect

from contacts.models import Contact, SyncStatus
from tests.conftest import transactional
from tests.e2e.screens import look_at
from tests.lists.helpers import ledger_has
from tests.public.lookup_helpers import in_spotler, make_lookup_page

SCREENSHOTS = os.environ.get("LOOKUP_SCREENSHOTS", "")


@transactional
def test_a_visitor_sees_the_prefilled_page_for_a_valid_code_and_the_message_for_another(
    live_server, page, lists_sandbox, catalogue, settings
):
    settings.PUBLIC_LOOKUP_RATE_PER_ADDRESS = "1000/m"
    in_spotler(
        lists_sandbox, "C-1", email="anna@example.nl", firstName="Anna", lastName="de Vries",
        city="Utrecht", discountCode="WELKOM-7Q2F",
    )  # fmt: skip
    make_lookup_page()

    page.goto(f"{live_server.url}/lookup/offer/")
    look_at(page, "lookup-ask", folder=SCREENSHOTS)
    page.get_by_label("Your discount code").fill("WELKOM-7Q2F")
    page.get_by_role("button", name="Check").click()

    expect(page.get_by_test_id("lookup-found")).to_contain_text("Welcome back!")
    expect(page.get_by_label("First name")).to_have_value("Anna")
    expect(page.get_by_test_id("shown-city")).to_have_text("Utrecht")
    expect(page.locator("body")).not_to_contain_text("anna@example.nl")
    expect(page.locator("body")).not_to_contain_text("de Vries")
    look_at(page, "lookup-found", folder=SCREENSHOTS)

    page.get_by_label("Your discount code").fill("WELKOM-0000")
    page.get_by_role("button", name="Check another code").click()
    expect(page.get_by_test_id("lookup-not-found")).to_have_text("Sorry, this code is not valid.")
    expect(page.get_by_test_id("prefilled-form")).to_have_count(0)
    look_at(page, "lookup-not-found", folder=SCREENSHOTS)


@transactional
def test_a_marketer_searches_spotler_and_an_admin_configures_a_page(
    live_server, page, log_in, lists_sandbox, catalogue
):
    in_spotler(lists_sandbox, "C-1", email="c-1@example.nl", city="Utrecht", customerType="retail")
    in_spotler(lists_sandbox, "C-2", email="c-2@example.nl", city="Utrecht", customerType="retail")
    in_spotler(lists_sandbox, None, email="form@example.nl", city="Utrecht", customerType="retail")
    ledger_has(["C-1", "C-2"])
    Contact.objects.filter(external_id="C-2").update(
        sync_status=SyncStatus.FAILED, sync_error="Email is invalid"
    )
    log_in("marketer", "Marketer")
    page.get_by_test_id("nav-search").click()
    conditions = page.get_by_test_id("condition")
    conditions.nth(0).get_by_label("Property").select_option("city")
    conditions.nth(0).get_by_label("equals").fill("Utrecht")
    conditions.nth(1).get_by_label("Property").select_option("customerType")
    conditions.nth(1).get_by_label("equals").fill("retail")
    page.get_by_role("button", name="Search Spotler").click()
    expect(page.get_by_test_id("search-result")).to_have_count(3)
    expect(page.get_by_test_id("result-count")).to_have_text("3 contacts in Spotler")
    look_at(page, "lookup-search", folder=SCREENSHOTS)
    page.get_by_role("link", name="C-1").click()
    expect(page).to_have_url(f"{live_server.url}/contacts/C-1/")

    page.context.clear_cookies()
    log_in("admin", "Admin")
    page.goto(f"{live_server.url}/lookup-pages/")
    page.get_by_role("button", name="New lookup page").click()
    page.get_by_label("Slug").fill("winter")
    page.get_by_label("Property looked up").select_option("discountCode")
    page.locator("#show_firstName").check()
    page.get_by_label("Prefill firstName").check()
    page.get_by_label("On: the page answers visitors").check()
    look_at(page, "lookup-config-new", folder=SCREENSHOTS)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("public-url")).to_have_text(f"{live_server.url}/lookup/winter/")
    look_at(page, "lookup-config-edit", folder=SCREENSHOTS)
    page.goto(f"{live_server.url}/lookup-pages/")
    look_at(page, "lookup-config-list", folder=SCREENSHOTS)
