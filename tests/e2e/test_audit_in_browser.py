"""An Admin opens the audit trail from More, sees a token she made (never its secret), and
filters by what changed."""

import os
from pathlib import Path

from contacts.tokens import create_api_token
from spotlersync.roles import Role
from tests.conftest import transactional

# Screenshots for a person to look at (not compared): AUDIT_SCREENSHOTS=/some/folder.
SCREENSHOTS = os.environ.get("AUDIT_SCREENSHOTS", "")


@transactional
def test_an_admin_finds_the_trail_under_more_and_filters_it(live_server, log_in):
    page = log_in("boss", Role.ADMIN)
    new = create_api_token(name="Shop <live>", scope="write", actor="manage.py create_api_token")
    page.get_by_test_id("nav-more").locator("summary").click()
    page.get_by_role("link", name="Audit trail").click()
    page.wait_for_url(f"{live_server.url}/audit/")

    table = page.get_by_test_id("audit-table")
    assert f"api token “Shop <live> ({new.token.prefix}…)”" in table.inner_text()
    assert "manage.py create_api_token" in table.inner_text()
    assert new.secret not in page.content()

    page.get_by_label("What").select_option("api token")
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_test_id("audit-table").locator("tbody tr").count() == 1
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        for width in (1280, 1440):
            page.set_viewport_size({"width": width, "height": 800})
            page.screenshot(path=f"{SCREENSHOTS}/audit-{width}.png", full_page=True)
