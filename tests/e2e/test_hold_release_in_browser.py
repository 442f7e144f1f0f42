"""An Admin finds a contact held for review (a second customer at an address Spotler has, under
e-mail deduplication), reads why, merges it into the other contact, then sends it after all:
Spotler merges it as Spotler would. Nothing on these pages scrolls sideways."""

from django.db import connection
from playwright.sync_api import expect

from contacts.ingest import upsert_contact
from identity.models import DedupeMode, SpotlerAccount
from spotlersync.roles import Role
from sync.push import push_one_batch
from tests.conftest import transactional
from tests.e2e.test_contact_state_in_browser import assert_fits, shoot
from tests.helpers import sandbox_client


@transactional
def test_an_admin_merges_a_held_contact_and_then_sends_it_after_all(
    live_server, log_in, lists_sandbox, catalogue
):
    lists_sandbox.set(dedupe="email")
    SpotlerAccount.objects.update_or_create(pk=1, defaults={"dedupe_mode": DedupeMode.EMAIL})
    client = sandbox_client(lists_sandbox)
    upsert_contact(external_id="C-1001", raw_fields={
        "email": "anna.de.vries@example.nl", "first_name": "Anna", "last_name": "de Vries",
        "newsletter": True})  # fmt: skip
    push_one_batch(client=client)
    upsert_contact(external_id="C-2002", raw_fields={
        "email": "Anna.de.Vries@example.nl", "first_name": "Bram", "last_name": "de Vries",
        "newsletter": True})  # fmt: skip
    push_one_batch(client=client)
    connection.close()  # the live server's thread reads what this one wrote

    page = log_in("admin", Role.ADMIN)
    expect(page.get_by_test_id("held-contacts")).to_contain_text("1")
    assert_fits(page, 1280)
    shoot(page, "home-held")
    page.get_by_test_id("held-contacts").get_by_role("link").click()
    row = page.get_by_test_id("contact-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("sync-state")).to_have_text("held for review")
    expect(row.get_by_test_id("failure-reason")).to_contain_text(
        "C-1001 is in Spotler already with the same e-mail address."
    )
    assert_fits(page, 1280)
    shoot(page, "contacts-held")

    page.goto(f"{live_server.url}/sync/health/")
    expect(page.get_by_test_id("health-held")).to_contain_text("1 contact held for review")
    shoot(page, "health-held")
    page.go_back()
    row.get_by_role("link", name="C-2002").click()
    notice = page.get_by_test_id("hold-notice")
    expect(notice.get_by_test_id("hold-reason")).to_contain_text(
        "sending C-2002 would merge it into C-1001's Spotler contact"
    )
    expect(notice.get_by_test_id("hold-twin")).to_contain_text("C-1001 · Anna de Vries")
    expect(page.get_by_test_id("sync-waiting")).to_contain_text("Held for review: upsert")
    assert_fits(page, 1280)
    assert_fits(page, 1440)
    shoot(page, "contact-held")

    page.get_by_test_id("release-merge").click()
    expect(page.get_by_role("status")).to_contain_text(
        "C-2002 is merged into C-1001: nothing of it is sent to Spotler"
    )
    expect(notice).to_contain_text("Merged into C-1001: nothing of it is sent to Spotler.")
    expect(notice.get_by_test_id("hold-decided")).to_contain_text("Decided by admin on ")
    expect(page.get_by_test_id("release-merge")).to_have_count(0)
    assert_fits(page, 1280)
    shoot(page, "contact-merged")

    page.get_by_test_id("release-send").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Spotler deduplicates on e-mail, so it merges it into C-1001's Spotler contact"
    )
    push_one_batch(client=client)
    held = {c["externalId"] for c in lists_sandbox.control("GET", "contacts")["contacts"]}
    assert held == {"C-2002"}  # what Spotler does with it, as the confirmation said
    page.reload()
    expect(page.get_by_test_id("sync-state").first).to_have_text("synced")
    expect(notice).to_contain_text("Sent although C-1001 has the same e-mail address.")
    shoot(page, "contact-sent-anyway")
