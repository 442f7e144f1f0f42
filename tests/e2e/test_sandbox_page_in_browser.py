"""A newcomer plays the recipient in the sandbox's control page, with no curl: unsubscribes,
edits a profile, bounces a mail, and fills the list budget as another system."""

import re

from playwright.sync_api import Page, expect


def permission(sandbox, ref: str, bit: int) -> bool:
    entries = sandbox.contact(ref)["properties"]["permissions"]
    return next(e["enabled"] for e in entries if e["bit"] == bit)


def test_a_newcomer_unsubscribes_edits_and_bounces_a_recipient_from_the_sandbox_page(
    page: Page, spotler_sandbox
):
    spotler_sandbox.control("POST", "seed-demo")
    page.goto(f"{spotler_sandbox.url}/_sandbox/")  # what the README links: a browser gets HTML
    expect(page).to_have_url(re.compile(r"/_sandbox/page$"))
    expect(page.get_by_role("heading", name=re.compile("Spotler sandbox"))).to_be_visible()

    page.get_by_label("Search contacts").fill("anna")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("contacts").get_by_role("link")).to_have_count(1)
    page.get_by_role("link", name="C-1001").click()
    chosen = page.get_by_test_id("chosen-contact")
    expect(chosen.get_by_role("heading", level=2)).to_contain_text("anna.devries@example.nl")

    chosen.get_by_role("button", name="Unsubscribe: Newsletter").click()
    expect(page.get_by_role("status")).to_have_text(
        "C-1001: Newsletter (permissions bit 1) switched off (unsubscribed); "
        "the next pull of updates reads it."
    )
    expect(chosen.get_by_role("button", name="Subscribe: Newsletter")).to_be_visible()
    assert permission(spotler_sandbox, "C-1001", 1) is False

    chosen.get_by_label("Field").select_option("city")
    chosen.get_by_label("New value").fill("Zwolle")
    chosen.get_by_role("button", name="Edit as the recipient").click()
    expect(page.get_by_role("status")).to_contain_text("city set to 'Zwolle'")
    assert spotler_sandbox.contact("C-1001")["properties"]["city"] == "Zwolle"

    chosen.get_by_label("Field").select_option("postalCode")
    chosen.get_by_label("New value").fill("not a postcode")
    chosen.get_by_role("button", name="Edit as the recipient").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Refused (INVALID_PARAMS): Property is invalid: "
        "postalCode (Postcode (Dutch format, 1234 AB)) cannot be 'not a postcode'"
    )

    chosen.get_by_role("button", name="Hard bounce").click()
    expect(page.get_by_role("status")).to_contain_text("a hard bounce is recorded")
    chosen.get_by_role("button", name="Soft bounce").click()
    bounces = spotler_sandbox.state()["bounces"]
    assert [b["type"] for b in bounces] == ["HARDBOUNCE", "SOFTBOUNCE"]

    lists = page.get_by_test_id("lists")
    lists.get_by_label("How many").fill("2")
    lists.get_by_role("button", name="Make another system's lists").click()
    expect(page.get_by_role("status")).to_contain_text("other-system made 2 temporary list(s)")
    expect(page.get_by_test_id("lists")).to_contain_text("2 of 30 in the account")


def test_the_sandbox_page_shows_a_recipients_values_as_text_never_as_markup(
    page: Page, spotler_sandbox
):
    spotler_sandbox.control(
        "POST",
        "contacts",
        {"externalId": "<b>x</b>", "properties": {"email": "a@example.nl",
                                                  "firstName": "<script>alert(1)</script>"}},
    )  # fmt: skip
    page.goto(f"{spotler_sandbox.url}/_sandbox/page")
    page.get_by_role("link", name="<b>x</b>").click()
    chosen = page.get_by_test_id("chosen-contact")
    expect(chosen).to_contain_text("<script>alert(1)</script>")
    expect(chosen.locator("b, script")).to_have_count(0)
