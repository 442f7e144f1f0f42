"""Each role's home in a real browser, and the navigation: on one line from 1280 px for every
role, folded behind "Menu" below that, and no page it leads to scrolls sideways at 1280 px."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from spotlersync.roles import Role
from tests.conftest import transactional

SCREENSHOTS = os.environ.get("HOME_SCREENSHOTS", "")
HOMES = {
    Role.ACCOUNT_MANAGER: ("Bounce follow-ups", ["Mapping and push", "Queue and schedules"]),
    Role.MARKETER: ("Mapping and push", ["Bounce follow-ups", "Queue and schedules"]),
    Role.ADMIN: ("Queue and schedules", []),
}


def nav_lines(page: Page) -> int:
    """On how many lines the main menu's items stand."""
    return page.evaluate(
        """() => {
            const boxes = [...document.querySelectorAll('[data-testid="main-nav"] > li')]
                .map(li => li.getBoundingClientRect()).sort((a, b) => a.top - b.top);
            let lines = 0, bottom = -Infinity;
            for (const box of boxes) {
                if (box.top >= bottom - 2) { lines += 1; bottom = box.bottom; }
            }
            return lines;
        }"""
    )


def sideways(page: Page) -> int:
    return page.evaluate(
        "() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
    )


def nav_links(page: Page) -> list[str]:
    """Every page the menu leads to (the "More" menu's too), once."""
    hrefs = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="main-nav"] a')]
            .map(a => a.getAttribute('href'))"""
    )
    return list(dict.fromkeys(h for h in hrefs if h and h.startswith("/")))


@transactional
@pytest.mark.parametrize("role", [Role.ACCOUNT_MANAGER, Role.MARKETER, Role.ADMIN])
def test_each_role_meets_its_home_and_a_menu_that_fits(live_server, log_in, lists_sandbox, role):
    page = log_in("someone", role)
    shown, absent = HOMES[role]
    expect(page.get_by_role("heading", name=shown)).to_be_visible()
    for heading in absent:
        expect(page.get_by_role("heading", name=heading)).to_have_count(0)
    expect(page.get_by_test_id("footer-api-docs")).to_be_visible()

    for width in (1280, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            name = role.lower().replace(" ", "-")
            page.screenshot(path=f"{SCREENSHOTS}/home-{name}-{width}.png", full_page=True)
        assert nav_lines(page) == 1, f"{role}: the menu wraps at {width}px"
        assert sideways(page) <= 0, f"{role}: home scrolls sideways at {width}px"
        expect(page.get_by_text("Menu", exact=True)).to_be_hidden()

    page.set_viewport_size({"width": 1280, "height": 900})
    for href in nav_links(page):
        page.goto(f"{live_server.url}{href}")
        assert sideways(page) <= 0, f"{role}: {href} scrolls sideways at 1280px"
        assert nav_lines(page) <= 1, f"{role}: the menu wraps on {href}"  # (docs, admin: none)

    page.goto(f"{live_server.url}/")
    page.set_viewport_size({"width": 1024, "height": 800})
    nav = page.get_by_test_id("main-nav")
    expect(nav).to_be_hidden()
    page.get_by_text("Menu", exact=True).click()
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="Home", exact=True)).to_be_visible()
    assert sideways(page) <= 0
    if SCREENSHOTS:
        name = role.lower().replace(" ", "-")
        page.screenshot(path=f"{SCREENSHOTS}/home-{name}-1024-menu.png", full_page=True)
