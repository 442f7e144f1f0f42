"""The mapping editor in a browser: a value Spotler would refuse is caught in the preview and
counted on saving, the picked contact stays, and at 1280 and 1440 px every value is readable
without sideways scrolling (screenshots with MAPPING_SCREENSHOTS=/some/folder)."""

import os
from pathlib import Path

from playwright.sync_api import Page, expect

from contacts.ingest import upsert_contact
from mapping.models import MappingVersion
from mapping.versions import current_version, save_version
from spotlersync.roles import Role
from tests.conftest import transactional

SCREENSHOTS = os.environ.get("MAPPING_SCREENSHOTS", "")
WIDTHS = (1280, 1440)

# For every text field, choice and the preview's JSON: how much of its value is hidden (text
# wider than the box), the page's sideways scroll, and how far the rows reach into the preview.
MEASURE = """() => {
    const canvas = document.createElement("canvas").getContext("2d");
    const hidden = [];
    for (const el of document.querySelectorAll(
            "#rows input[type=text], #rows select, #rows textarea, .preview pre")) {
        let over = el.scrollWidth - el.clientWidth;
        if (el.tagName === "SELECT") {  // a select's scrollWidth ignores its text: measure it
            const style = getComputedStyle(el);
            canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
            const text = el.selectedOptions[0] ? el.selectedOptions[0].text : "";
            const room = el.clientWidth - parseFloat(style.paddingLeft)
                - parseFloat(style.paddingRight);
            // canvas metrics and layout round differently: a pixel either way is no cut
            over = Math.floor(canvas.measureText(text).width - room);
        }
        if (over > 1) hidden.push(`${el.name || el.tagName}=${el.value || ""}: ${over}px`);
    }
    const root = document.scrollingElement;
    const header = document.querySelector("body > header").getBoundingClientRect();
    const main = document.querySelector("main").getBoundingClientRect();
    const rows = document.querySelector("#rows table").getBoundingClientRect();
    const preview = document.querySelector(".preview-panel").getBoundingClientRect();
    return {
        hidden,
        sideways: root.scrollWidth - root.clientWidth,
        wider_than_header: Math.round(main.right - header.right),
        preview_over_rows: Math.min(rows.right, preview.right) > Math.max(rows.left, preview.left)
            && Math.min(rows.bottom, preview.bottom) > Math.max(rows.top, preview.top),
        preview_beside: preview.left >= rows.right,
    };
}"""


def assert_readable(page: Page, what: str, *, preview_beside: bool = True) -> None:
    """At 1280 and 1440 px: no value cut off, no sideways scrolling, nothing under the preview,
    which stands beside the rows unless told (rows with long names push it under them)."""
    page.wait_for_load_state("load")  # measured with the page's own CSS, not before it arrives
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        found = page.evaluate(MEASURE)
        assert found["hidden"] == [], f"{what} at {width}px: values cut off: {found['hidden']}"
        assert found["sideways"] <= 0, f"{what} at {width}px scrolls sideways: {found}"
        assert found["wider_than_header"] <= 0, f"{what} at {width}px: wider than the header"
        assert not found["preview_over_rows"], f"{what} at {width}px: the preview hides rows"
        if preview_beside:
            assert found["preview_beside"], f"{what} at {width}px: the preview is not beside"
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{SCREENSHOTS}/mapping-{what}-{width}.png", full_page=True)


def shop_has_postcodes() -> None:
    upsert_contact(
        external_id="C-BAD",
        raw_fields={
            "email": "zora@example.nl",
            "first_name": "Zora",
            "postcode": "ZZZ-not-a-postcode",
        },
    )
    for n in range(9):  # changed after C-BAD: the latest is a good one
        upsert_contact(
            external_id=f"C-{n}",
            raw_fields={
                "email": f"c{n}@example.nl",
                "first_name": "Anna",
                "postcode": f"35{n}1 AB",
            },
        )


@transactional
def test_the_editor_warns_about_a_postcode_spotler_would_refuse_and_counts_them_on_saving(
    live_server, log_in, catalogue
):
    shop_has_postcodes()
    page = log_in("maria", Role.MARKETER)
    page.get_by_role("link", name="Mapping").click()
    expect(page.get_by_test_id("preview-contact")).to_contain_text("C-8")
    assert_readable(page, "editor")

    page.get_by_test_id("add-row").click()
    page.get_by_label("Source field of row 7").fill("postcode")
    page.get_by_label("Spotler property of row 7").select_option("postalCode")
    expect(page.get_by_test_id("row-6").get_by_test_id("row-type")).to_have_text("type postcode")
    expect(page.get_by_test_id("preview-json")).to_contain_text('"postalCode": "3581 AB"')
    expect(page.get_by_test_id("preview-spotler-refuses")).to_have_count(0)

    page.get_by_test_id("preview-search").fill("C-BA")
    page.get_by_role("button", name="C-BAD · zora@example.nl · Zora").click()
    expect(page.get_by_test_id("preview-contact")).to_contain_text("C-BAD")
    warning = page.get_by_test_id("preview-spotler-refuses")
    expect(warning).to_contain_text("Spotler would refuse this contact")
    expect(warning).to_contain_text(
        "postalCode: “ZZZ-not-a-postcode” is not a Dutch postcode such as 1234 AB"
    )
    assert_readable(page, "refused-postcode")

    # Another edit, and a newer change in the shop: the preview stays on the contact picked.
    upsert_contact(external_id="C-NEW", raw_fields={"email": "new@example.nl"})
    page.get_by_label("Conversion of row 2").select_option("constant")
    expect(page.get_by_test_id("row-1").get_by_label("Constant value of row 2")).to_be_visible()
    expect(page.get_by_test_id("row-1").get_by_role("checkbox")).to_have_count(0)
    page.get_by_label("Constant value of row 2").fill("Friend")
    page.get_by_label("Note").click()
    expect(page.get_by_test_id("preview-json")).to_contain_text('"firstName": "Friend"')
    expect(page.get_by_test_id("preview-contact")).to_contain_text("C-BAD")
    expect(warning).to_be_visible()

    page.get_by_test_id("save").click()
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Spotler would refuse")).to_contain_text(
        "postcode → postalCode: Spotler would refuse 1 of the 10 values the 11 contacts changed "
        "last hold, e.g. “ZZZ-not-a-postcode” is not a Dutch postcode such as 1234 AB."
    )
    expect(page.get_by_test_id("version-2")).to_contain_text("added postcode → postalCode")
    expect(page.get_by_test_id("preview-contact")).to_contain_text("C-BAD")  # after the reload
    assert_readable(page, "saved")


@transactional
def test_a_property_mapped_twice_says_at_the_top_that_nothing_was_saved(
    live_server, log_in, catalogue
):
    shop_has_postcodes()
    page = log_in("maria", Role.MARKETER)
    page.goto(f"{live_server.url}/mapping/")
    page.get_by_test_id("add-row").click()
    page.get_by_label("Source field of row 7").fill("first_name")
    page.get_by_label("Spotler property of row 7").select_option("firstName")
    page.get_by_test_id("save").click()

    banner = page.get_by_test_id("not-saved")
    expect(banner).to_contain_text("Nothing was saved.")
    expect(banner).to_contain_text("Row 7 (firstName): firstName is already mapped in row 2")
    assert banner.bounding_box()["y"] < page.get_by_test_id("mapping-rows").bounding_box()["y"]
    assert MappingVersion.objects.count() == 1
    assert_readable(page, "not-saved")


@transactional
def test_every_kind_of_row_shows_its_own_options_readably_beside_the_preview(
    live_server, log_in, catalogue, marketer
):
    shop_has_postcodes()
    rows = [*current_version().rows,
            {"source_fields": ["locale"], "property": "taal", "type": "string",
             "conversion": "language_table",
             "options": {"table": {"nl_NL": "Nederlands", "de_DE": "Deutsch"},
                         "default": "English"}},
            {"source_fields": ["store", "store_view"], "property": "customerType",
             "type": "string", "conversion": "levels", "options": {}},
            {"source_fields": [], "property": "discountCode", "type": "string",
             "conversion": "constant", "options": {"value": "WELKOM-2026"}},
            {"source_fields": ["mobile_phone_number"], "property": "phoneNumber",
             "type": "mobNr"}]  # fmt: skip
    save_version(rows=rows, author=marketer)
    page = log_in("maria", Role.MARKETER)
    page.goto(f"{live_server.url}/mapping/")

    city_like = page.get_by_test_id("row-1")  # first_name → firstName: one option
    expect(city_like.get_by_role("checkbox")).to_have_count(1)
    box = city_like.get_by_role("checkbox").bounding_box()
    assert box["width"] < 24 and abs(box["width"] - box["height"]) < 2  # a box, not a pill
    table = page.get_by_test_id("row-6").get_by_label("Language table of row 7").input_value()
    # (in the order the database keeps the keys: PostgreSQL's jsonb sorts them)
    assert sorted(table.splitlines()) == ["de_DE = Deutsch", "nl_NL = Nederlands"]
    expect(page.get_by_test_id("row-6").get_by_role("checkbox")).to_have_count(1)
    expect(page.get_by_test_id("row-8").get_by_role("checkbox")).to_have_count(0)  # a constant
    assert_readable(page, "options")
