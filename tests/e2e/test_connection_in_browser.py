"""An Admin opens the Spotler connection from the More menu, clicks *Test connection* and reads
what Spotler showed; then enters the account's deduplication and sharing and gets the warning;
then sees a wrong secret and a faulting Spotler explained. Every state fits at 1280 and 1440 px
(screenshots with CONNECTION_SCREENSHOTS=/some/folder)."""

import os
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from spotler.sandbox import catalogue as sandbox_catalogue
from spotlersync.roles import Role
from tests.conftest import transactional
from tests.e2e.test_lists_in_browser import assert_fits
from tests.identity import connection_helpers
from tests.identity.connection_helpers import MASKED_KEY, SECRET, shows_no_part_of_the_secret

SCREENSHOTS = os.environ.get("CONNECTION_SCREENSHOTS", "")
spotler_account = connection_helpers.spotler_account


def look_at(page: Page, name: str) -> None:
    for width in (1280, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        assert_fits(page, f"connection, {name}, at {width}px")
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{SCREENSHOTS}/connection-{name}-{width}.png", full_page=True)
    assert shows_no_part_of_the_secret(page.content())


@transactional
def test_an_admin_tests_the_connection_and_sees_what_spotler_showed(
    live_server, log_in, spotler_account, settings
):
    spotler_account.control("POST", "templists", {"consumer_key": "other-system", "count": 2})
    page = log_in("admin", Role.ADMIN)
    page.get_by_test_id("nav-more").click()
    page.get_by_test_id("nav-connection").click()

    expect(page.get_by_test_id("consumer-key")).to_have_text(MASKED_KEY)
    expect(page.get_by_test_id("check-never")).to_be_visible()
    look_at(page, "not-tested")

    page.get_by_test_id("test-connection").click()

    expect(page.get_by_test_id("check-result")).to_contain_text(
        "Spotler answered: the connection works."
    )
    properties = page.get_by_test_id("check-properties").locator(".figure")
    expect(properties).to_have_text(str(len(sandbox_catalogue.PROPERTIES)))
    expect(page.get_by_test_id("check-permissions").locator(".figure")).to_have_text("3")
    expect(page.get_by_test_id("permission-list")).to_contain_text("Newsletter")
    expect(page.get_by_test_id("check-templists").locator(".figure")).to_have_text("2 of 30")
    expect(page.get_by_test_id("check-templists")).to_contain_text("0 ours, 2 other systems'")
    expect(page.get_by_test_id("check-round-trip").locator(".figure")).to_have_text(
        re.compile(r"^\d+ ms$")
    )
    expect(page.get_by_test_id("rate-limit-seen")).to_have_text(
        "No limit reported; we keep to 10 requests per second (SPOTLER_RATE_LIMIT)."
    )
    assert page.url == f"{live_server.url}/connection/"  # htmx swapped the panel in place
    look_at(page, "works")

    page.get_by_label("By e-mail address").check()
    page.get_by_label("Spotler field the key's external id is bound to").fill("Webshop id")
    page.get_by_label("Other linked systems use this Spotler account").check()
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_have_text("Saved. The change is in the audit trail.")
    expect(page.get_by_test_id("shared-warning")).to_contain_text("this key's is “Webshop id”")
    expect(page.get_by_label("By e-mail address")).to_be_checked()
    look_at(page, "shared")

    settings.SPOTLER_CONSUMER_SECRET = "not-the-right-secret"
    page.get_by_test_id("test-connection").click()

    expect(page.get_by_test_id("check-result")).to_contain_text("The test failed.")
    expect(page.get_by_test_id("check-error")).to_contain_text(
        "Spotler refused our credentials. Check SPOTLER_CONSUMER_KEY and SPOTLER_CONSUMER_SECRET"
    )
    expect(page.get_by_test_id("spotler-says")).to_contain_text(
        "Spotler answered 401 NOT_AUTHORIZED: Invalid signature"
    )
    look_at(page, "refused")

    settings.SPOTLER_CONSUMER_SECRET = SECRET
    spotler_account.set(error_rate=1, error_statuses=[503])
    page.get_by_test_id("test-connection").click()

    expect(page.get_by_test_id("check-error")).to_contain_text(
        "Spotler had a problem of its own (HTTP 503); our settings are not the cause."
    )
    expect(page.get_by_test_id("check-properties")).to_have_count(0)  # nothing was read
    look_at(page, "spotler-down")

    page.goto(f"{live_server.url}/")
    expect(page.get_by_test_id("home-connection")).to_contain_text(
        "The last test failed (0\N{NO-BREAK SPACE}minutes ago): Spotler had a problem of its own"
    )
    look_at(page, "home")
    page.go_back()

    spotler_account.set(error_rate=0)
    spotler_account.control("POST", "burst429", {"count": 1, "retry_after": 30})
    page.get_by_test_id("test-connection").click()

    expect(page.get_by_test_id("check-error")).to_contain_text(
        "Spotler is limiting our calls: too many requests right now."
    )
    expect(page.get_by_test_id("rate-limit-seen")).to_have_text(
        "Spotler answered 429 (too many requests) and asked us to wait 30 s; "
        "every worker holds back."
    )
    # The page itself reads nothing from Spotler, so it opens at once while Spotler holds us
    # back (the home page's list budget would wait for the throttle to end).
    page.reload()
    expect(page.get_by_test_id("throttling")).to_contain_text(
        "Spotler has answered 429 1 time; the latest"
    )
    expect(page.get_by_test_id("throttling")).to_contain_text("Every worker holds back until")
    look_at(page, "throttled")
