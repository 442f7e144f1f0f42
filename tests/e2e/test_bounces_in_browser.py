"""An account manager finds a bounced contact in the inbox, corrects the address, and sees the
follow-up close once Spotler (the sandbox) has accepted it."""

import os
import re

from playwright.sync_api import Page, expect

from bounces.models import FollowUp
from contacts.ingest import erase_contact
from contacts.models import Contact
from tests.bounces.helpers import bounce, manager, pull, pushed_contact
from tests.conftest import PASSWORD, transactional
from tests.e2e import screenshots
from tests.helpers import sandbox_client
from tests.queue_cluster import running_cluster

# Screenshots for a person to look at (not compared): BOUNCE_SCREENSHOTS=/some/folder.
SCREENSHOTS = os.environ.get("BOUNCE_SCREENSHOTS", "")


def shoot(page: Page, name: str) -> None:
    screenshots.shoot(page, name, folder=SCREENSHOTS)


@transactional
def test_an_account_manager_corrects_a_bounced_address_and_sees_the_followup_close(
    live_server, page, spotler_sandbox, catalogue
):
    spotler_sandbox.set(rate_limit=0)
    client = sandbox_client(spotler_sandbox)
    manager("sanne", first_name="Sanne", last_name="Bakker")
    manager("tom")  # another account manager, whose follow-up Sanne must not see
    pushed_contact(client, "C-1", account_manager="Sanne Bakker", company="Visser BV")
    pushed_contact(client, "C-2", email="bob@example.nl", account_manager="tom")
    bounce(spotler_sandbox, "C-1")
    bounce(spotler_sandbox, "C-2")
    pull(client)
    assert FollowUp.objects.count() == 2
    env = {"SPOTLER_BASE_URL": spotler_sandbox.base_url}

    with running_cluster(workers=1, extra_env=env):
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("User name").fill("sanne")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")
        nav = page.get_by_test_id("nav-bounces")
        expect(page.get_by_test_id("nav-bounces-count")).to_have_text("1")
        nav.click()
        expect(page.get_by_role("heading", name="Bounce inbox")).to_be_visible()
        rows = page.get_by_test_id("followup-row")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("anna@example.nl")
        shoot(page, "inbox")

        rows.first.get_by_role("link", name="Anna Visser").click()
        expect(page).to_have_url(re.compile(r"/bounces/\d+/$"))
        expect(page.get_by_test_id("bounces")).to_contain_text("Hard bounce")
        shoot(page, "followup")

        form = page.get_by_test_id("correct-form")
        form.get_by_label("Corrected e-mail address").fill("anna@visser")
        form.get_by_role("button", name="Correct and push").click()
        expect(page.get_by_test_id("problem")).to_contain_text("is not an e-mail address")
        assert Contact.objects.get(external_id="C-1").email == "anna@example.nl"

        form = page.get_by_test_id("correct-form")
        form.get_by_label("Corrected e-mail address").fill("anna@visser.example")
        form.get_by_role("button", name="Correct and push").click()
        # The page refreshes itself while the address is on its way, then shows the outcome.
        expect(page.get_by_test_id("followup-state").first).to_have_text("done", timeout=30_000)
        expect(page.get_by_test_id("current-email")).to_have_text("anna@visser.example")
        expect(page.get_by_test_id("history")).to_contain_text("E-mail corrected")
        expect(page.get_by_test_id("nav-bounces-count")).to_have_text("0")
        shoot(page, "followup-done")

    sent = spotler_sandbox.contact("C-1")["properties"]["email"]
    assert sent == "anna@visser.example"


@transactional
def test_an_admin_sees_open_work_per_owner_by_name_and_the_bounces_nobody_follows_up(
    live_server, page, spotler_sandbox, catalogue
):
    spotler_sandbox.set(rate_limit=0)
    client = sandbox_client(spotler_sandbox)
    manager("sanne", first_name="Sanne", last_name="Bakker")
    manager("boss", role="Admin")
    pushed_contact(client, "C-1", account_manager="Sanne Bakker")
    pushed_contact(client, "C-2", email="bob@example.nl", account_manager="Sanne Bakker")
    spotler_sandbox.control(
        "POST", "contacts", json={"externalId": "X-9", "properties": {"email": "x@example.nl"}}
    )
    bounce(spotler_sandbox, "C-1")
    erase_contact(external_id="C-2")
    bounce(spotler_sandbox, "C-2")
    bounce(spotler_sandbox, "X-9")
    pull(client)

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("User name").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_test_id("nav-bounces").click()

    expect(page.get_by_test_id("figure-open")).to_contain_text("1 Sanne Bakker")
    expect(page.get_by_test_id("figure-without-followup")).to_contain_text(
        "2 bounces without a follow-up in the last 12 weeks: 1 erased, 0 anonymized, "
        "1 unknown to the ledger."
    )
    expect(page.get_by_test_id("followup-row")).to_have_count(1)
    shoot(page, "inbox-admin")


@transactional
def test_an_admins_inbox_shows_every_column_without_sideways_scrolling(
    live_server, page, spotler_sandbox, catalogue
):
    spotler_sandbox.set(rate_limit=0)
    client = sandbox_client(spotler_sandbox)
    manager("boss", role="Admin")
    # As in the demo: a long-ish address and an account manager who matches no user.
    pushed_contact(
        client, "C001999", email="amelia.williams.1999@example.com",
        first_name="Amelia", last_name="Williams", account_manager="Youssef El Amrani",
    )  # fmt: skip
    bounce(spotler_sandbox, "C001999")
    pull(client)

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("User name").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    for width in (1280, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/bounces/")
        table = page.get_by_test_id("followup-table")
        expect(table).to_contain_text("to assign")
        box = table.locator("xpath=..")
        overflow = box.evaluate("e => e.scrollWidth - e.clientWidth")
        assert overflow <= 0, f"the table scrolls sideways by {overflow}px at {width}px"
        due, frame = (
            table.get_by_role("columnheader", name="Due").bounding_box(),
            box.bounding_box(),
        )
        assert due["x"] + due["width"] <= frame["x"] + frame["width"] + 1
