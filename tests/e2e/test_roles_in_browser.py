import pytest
from playwright.sync_api import expect

from spotlersync.roles import Role
from tests.conftest import transactional

# Shown in the menu, hidden from it, and (Admins) under "More".
NAV = {
    Role.MARKETER: (
        ["Home", "Contacts", "Mapping", "Lists", "Search", "Health"],
        ["Bounces", "Syncs", "Queue", "API tokens", "Django admin"],
        ["Duplicates"],
    ),
    Role.ACCOUNT_MANAGER: (
        ["Home", "Contacts", "Bounces"],
        [
            "Mapping",
            "Lists",
            "Search",
            "Health",
            "Syncs",
            "Queue",
            "API tokens",
            "Django admin",
            "Duplicates",
        ],
        [],
    ),
    Role.ADMIN: (
        ["Home", "Contacts", "Bounces", "Mapping", "Lists", "Search", "Syncs", "Health"],
        [],
        [
            "Queue",
            "Import",
            "Duplicates",
            "Subscribe forms",
            "Lookup pages",
            "API tokens",
            "Django admin",
        ],
    ),
}


@transactional
@pytest.mark.parametrize("role", [Role.MARKETER, Role.ACCOUNT_MANAGER, Role.ADMIN])
def test_each_role_logs_in_sees_its_navigation_and_logs_out(live_server, log_in, role):
    page = log_in("someone", role)
    nav = page.get_by_test_id("main-nav")
    shown, hidden, more = NAV[role]
    for label in shown:
        expect(nav.get_by_role("link", name=label, exact=False).first).to_be_visible()
    for label in hidden:
        expect(nav.get_by_role("link", name=label, exact=True)).to_have_count(0)
    if more:
        nav.get_by_test_id("nav-more").click()
        for label in more:
            expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
        nav.get_by_test_id("nav-more").click()
    queue = page.get_by_test_id("cluster-state")
    expect(queue).to_contain_text("Queue cluster") if role == Role.ADMIN else expect(
        queue
    ).to_have_count(0)

    page.get_by_test_id("account-menu").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server.url}/login/")
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")


@transactional
@pytest.mark.parametrize("role", [Role.MARKETER, Role.ACCOUNT_MANAGER])
def test_a_page_of_another_role_answers_403_with_a_friendly_page(live_server, log_in, role):
    page = log_in("someone", role)
    response = page.goto(f"{live_server.url}/queue/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="This page is not for your role")).to_be_visible()
    page.get_by_role("button", name="Back to the dashboard").click()
    expect(page).to_have_url(f"{live_server.url}/")


@transactional
def test_an_admin_reaches_the_django_admin(live_server, log_in):
    page = log_in("boss", Role.ADMIN)
    page.get_by_test_id("nav-more").click()
    page.get_by_role("link", name="Django admin").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
