import re

from django.core.cache import cache
from playwright.sync_api import expect

from contacts.ingest import upsert_contact
from spotlersync.roles import Role
from sync.models import SyncRun, SyncRunKind
from sync.push_requests import PUSH_REQUEST_KEY
from tests.conftest import transactional
from tests.queue_cluster import running_clusters


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
    expect(page.get_by_test_id("version-2")).to_contain_text("added city → city")
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


@transactional
def test_a_marketer_saves_a_change_confirms_the_push_and_follows_its_run(
    live_server, log_in, spotler_sandbox, catalogue, settings
):
    """Above the threshold the offer needs a tick; the push is a run the Marketer follows."""
    settings.MAPPING_PUSH_CONFIRM_ABOVE = 2
    spotler_sandbox.set(rate_limit=0)
    cache.set(PUSH_REQUEST_KEY, 1, timeout=600)  # the seeding queues no live push
    for n, city in enumerate(["Utrecht", "Gent", "Delft"]):
        upsert_contact(external_id=f"C-{n}", raw_fields={"email": f"c{n}@example.nl", "city": city})
    upsert_contact(external_id="C-9", raw_fields={"email": "c9@example.nl"})
    env = {"SPOTLER_BASE_URL": spotler_sandbox.base_url}
    with running_clusters(workers=1, backfill_workers=1, extra_env=env):
        page = log_in("maria", Role.MARKETER)
        page.goto(f"{live_server.url}/mapping/")
        new_row = page.get_by_test_id("mapping-rows").locator("tbody tr").count() + 1
        page.get_by_test_id("add-row").click()
        page.get_by_label(f"Source field of row {new_row}").fill("city")
        page.get_by_label(f"Spotler property of row {new_row}").select_option("city")
        page.get_by_test_id("save").click()

        offer = page.get_by_test_id("push-offer")
        expect(offer).to_contain_text("Version 2 changes what Spotler receives for 3 contacts")
        push = offer.get_by_role("button", name="Push the 3 affected contacts now")
        push.click()  # the box is not ticked: the browser does not send the form
        expect(page).to_have_url(re.compile(r"/mapping/\?saved=2$"))
        assert not SyncRun.objects.exists()
        offer.get_by_label("Yes, send these 3 contacts to Spotler now").check()
        push.click()

        expect(page).to_have_url(re.compile(r"/sync/runs/\d+/$"))
        expect(page.get_by_role("status")).to_contain_text("the 3 contacts version 2 changed")
        expect(page.get_by_test_id("run-scope")).to_have_text(
            "the contacts whose Spotler data mapping version 2 changed"
        )
        expect(page.get_by_test_id("run-percent")).to_have_text("100%", timeout=90_000)
        expect(page.get_by_test_id("run-state")).to_have_text("succeeded")
        expect(page.get_by_test_id("run-done")).to_have_text("3 of 3")
        expect(page.get_by_test_id("run-counts")).to_contain_text("3 sent")

        page.goto(f"{live_server.url}/mapping/?saved=2")
        expect(page.get_by_test_id("push-offer")).to_contain_text(
            re.compile(r"was started by maria: run #\d+ \(succeeded\)")
        )
        expect(page.get_by_test_id("version-2")).to_contain_text("affected contacts pushed")

    run = SyncRun.objects.get(kind=SyncRunKind.BACKFILL)
    assert (run.requested_by.username, run.total, run.sent) == ("maria", 3, 3)
    assert spotler_sandbox.contact("C-2")["properties"]["city"] == "Delft"
