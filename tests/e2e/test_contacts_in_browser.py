import pytest
import requests
from playwright.sync_api import expect

from spotlersync.roles import Role
from tests.conftest import transactional


@transactional
def test_a_contact_sent_with_a_token_made_in_the_dashboard_shows_on_the_contacts_page(
    live_server, log_in
):
    page = log_in("boss", Role.ADMIN)
    page.get_by_test_id("nav-more").click()
    page.get_by_test_id("main-nav").get_by_role("link", name="API tokens").click()
    page.get_by_role("button", name="New token").click()
    page.get_by_label("Name").fill("Webshop")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_test_id("new-token").inner_text().strip()
    assert token

    response = requests.put(
        f"{live_server.url}/api/v1/contacts/C-1",
        json={"email": "anna@example.com", "first_name": "Anna", "last_name": "de Vries",
              "language": "nl", "account_manager": "Joost", "newsletter": True},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )  # fmt: skip
    assert response.status_code == 202, response.text

    page.get_by_test_id("main-nav").get_by_role("link", name="Contacts").click()
    page.get_by_role("searchbox", name="Search contacts").fill("ANNA@")
    page.get_by_role("button", name="Search").click()
    table = page.get_by_test_id("contact-table")
    expect(table.get_by_role("row")).to_have_count(2)  # the header and Anna
    expect(table).to_contain_text("anna@example.com")
    expect(table).to_contain_text("Anna de Vries")
    expect(table.get_by_test_id("sync-state")).to_have_text("pending")

    table.get_by_role("link", name="C-1").click()
    expect(page).to_have_url(f"{live_server.url}/contacts/C-1/")
    expect(page.get_by_role("heading", name="Anna de Vries")).to_be_visible()
    fields = page.get_by_test_id("source-fields")
    for name, value in [("email", "anna@example.com"), ("account_manager", "Joost"),
                        ("newsletter", "true")]:  # fmt: skip
        expect(fields.get_by_role("row").filter(has_text=name)).to_contain_text(value)


@transactional
@pytest.mark.parametrize("role", [Role.MARKETER, Role.ACCOUNT_MANAGER])
def test_marketers_and_account_managers_open_the_contacts_but_not_the_token_pages(
    live_server, log_in, role
):
    page = log_in("someone", role)
    nav = page.get_by_test_id("main-nav")
    expect(nav.get_by_role("link", name="API tokens")).to_have_count(0)
    nav.get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    expect(page.get_by_test_id("no-contacts")).to_be_visible()
    for path in ("/api-tokens/", "/api-tokens/new/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 403
        expect(page.get_by_role("heading", name="This page is not for your role")).to_be_visible()
