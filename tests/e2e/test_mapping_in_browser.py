from playwright.sync_api import expect

from contacts.ingest import upsert_contact
from spotlersync.roles import Role
from tests.conftest import transactional


@transactional
def test_a_marketer_adds_a_row_sees_the_preview_saves_and_restores(live_server, log_in, catalogue):
    upsert_contact(external_id="C-42", raw_fields={"email": "anna@example.nl", "city": "Utrecht"})
    page = log_in("maria", Role.MARKETER)
    page.get_by_role("link", name="Mapping").click()
    preview = page.get_by_test_id("preview-json")
    expect(preview).to_contain_text('"externalId": "C-42"')
    expect(preview).not_to_contain_text("Utrecht")

    rows_before = page.get_by_test_id("mapping-rows").locator("tbody tr").count()
    page.get_by_test_id("add-row").click()
    new_row = rows_before + 1
    page.get_by_label(f"Source field of row {new_row}").fill("city")
    page.get_by_label(f"Spotler property of row {new_row}").select_option("city")
    expect(preview).to_contain_text('"city": "Utrecht"')

    page.get_by_test_id("save").click()
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()
    expect(page.get_by_test_id("version-2")).to_contain_text("added city ← city")
    expect(page.get_by_test_id("preview-json")).to_contain_text('"city": "Utrecht"')

    page.get_by_test_id("version-1").get_by_role("button", name="Restore").click()
    expect(page.get_by_text("Version 1 restored as version 3.")).to_be_visible()
    expect(page.get_by_test_id("preview-json")).not_to_contain_text("Utrecht")


@transactional
def test_an_account_manager_cannot_open_the_mapping_editor(live_server, log_in):
    page = log_in("tom", Role.ACCOUNT_MANAGER)
    expect(page.get_by_test_id("main-nav").get_by_role("link", name="Mapping")).to_have_count(0)
    response = page.goto(f"{live_server.url}/mapping/")
    assert response.status == 403
