"""An Admin reconciles the ledger with Spotler from the Syncs page, reads what it found and fixes
it; the next reconciliation is clean and says so."""

import os

from playwright.sync_api import Page, expect

from identity.models import DriftFinding, FindingState
from spotlersync.roles import Role
from sync import push
from sync.models import SyncRunKind, UnknownContact
from tests.conftest import transactional
from tests.e2e import screenshots
from tests.identity import reconcile_helpers
from tests.identity.reconcile_helpers import lost_in_the_outbox, pushed, reconcile
from tests.queue_cluster import running_cluster

sandbox = reconcile_helpers.sandbox_as_spotler

# Screenshots for a person to look at (not compared): RECONCILE_SCREENSHOTS=/some/folder.
SCREENSHOTS = os.environ.get("RECONCILE_SCREENSHOTS", "")


def shoot(page: Page, name: str) -> None:
    """A screenshot if asked for; at both widths, the page never scrolls sideways."""
    screenshots.shoot(page, name, folder=SCREENSHOTS)
    for width in screenshots.WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        sideways = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert sideways <= 0, f"{name} scrolls {sideways} px sideways at {width} px"


def start_reconciliation(page: Page, url: str) -> None:
    page.goto(f"{url}/sync/runs/")
    form = page.get_by_test_id("start-reconcile")
    shoot(page, "syncs-page")
    form.get_by_role("button", name="Start reconciliation").click()
    expect(page.get_by_test_id("reconcile-summary")).to_be_visible(timeout=30_000)


@transactional
def test_an_admin_reconciles_fixes_each_finding_and_the_next_run_is_clean(
    live_server, log_in, sandbox
):
    pushed(5)
    lost_in_the_outbox("C-7")
    sandbox.control("POST", "contacts/C-1/edit", {"properties": {"firstName": "Ann"}})
    sandbox.control("POST", "contacts/C-2/unsubscribe", {"bit": 1})
    page = log_in("admin", Role.ADMIN)
    env = {"SPOTLER_BASE_URL": sandbox.base_url}
    with running_cluster(workers=1, extra_env=env):
        start_reconciliation(page, live_server.url)
        expect(page.get_by_test_id("run-counts")).to_have_text("3 in step · 3 differ · 0 skipped")
        expect(page.get_by_test_id("reconcile-found")).to_have_text("3 findings, 3 still open.")
        shoot(page, "run-page-with-findings")

        page.get_by_role("link", name="Every open finding, with its fixes →").click()
        rows = page.get_by_test_id("finding")
        expect(rows).to_have_count(3)
        shoot(page, "findings-page")
        rows.filter(has_text="C-1").get_by_role("button", name="Pull").click()
        pulled = "C-1: Spotler's values are in the ledger and on the feed."
        expect(page.get_by_text(pulled)).to_be_visible()
        rows.filter(has_text="C-2").get_by_role("button", name="Ignore").click()
        expect(rows).to_have_count(1)
        page.get_by_role("button", name="Push all 1 missing contact again").click()
        expect(page.get_by_test_id("no-findings")).to_have_text("No open finding.")
        shoot(page, "findings-page-all-dealt-with")
        page.get_by_role("link", name="All").click()
        expect(rows).to_have_count(3)
        states = sorted(DriftFinding.objects.values_list("state", flat=True))
        assert states == [FindingState.IGNORED, FindingState.PULLED, FindingState.PUSHED]
        shoot(page, "findings-page-all")

        while push.push_one_batch() is not None:  # the missing contact goes to Spotler
            pass
        # Still differing: the shop has not taken in C-1's new name nor C-2's unsubscribe; C-2
        # was ignored, C-1 is asked about again until the shop takes the change in.
        start_reconciliation(page, live_server.url)
        expect(page.get_by_test_id("reconcile-found")).to_have_text("2 findings, 1 still open.")
        DriftFinding.objects.filter(state=FindingState.OPEN).update(state=FindingState.IGNORED)
        back = {"properties": {"firstName": "Anna 1"}}  # what the shop still says
        sandbox.control("POST", "contacts/C-1/edit", back)
        sandbox.control("POST", "contacts/C-2/subscribe", {"bit": 1})
        start_reconciliation(page, live_server.url)
        expect(page.get_by_test_id("reconcile-clean")).to_have_text(
            "Spotler holds every contact as the ledger does: 6 compared."
        )
        shoot(page, "run-page-clean")


@transactional
def test_a_marketer_reads_the_findings_without_fixes(live_server, log_in, sandbox):
    pushed(1)
    lost_in_the_outbox("C-4")
    run = reconcile()
    page = log_in("marketer", Role.MARKETER)
    page.goto(f"{live_server.url}/sync/runs/{run.pk}/")
    expect(page.get_by_test_id("reconcile-found")).to_have_text("1 finding, 1 still open.")
    expect(page.get_by_test_id("push-missing-form")).to_have_count(0)
    shoot(page, "run-page-marketer")
    page.get_by_role("link", name="Every open finding, with its fixes →").click()
    expect(page.get_by_test_id("finding-state")).to_have_text("Open")
    expect(page.get_by_test_id("fix-form")).to_have_count(0)
    shoot(page, "findings-page-marketer")


@transactional
def test_many_findings_come_fifty_a_page_and_a_failed_run_says_why(
    live_server, log_in, sandbox, settings
):
    pushed(1)
    for n in range(1, 56):
        lost_in_the_outbox(f"C-{n}")
    UnknownContact.objects.create(external_id="X-9", source=SyncRunKind.PULL_UPDATES, times_seen=3)
    run = reconcile()
    page = log_in("admin", Role.ADMIN)
    page.goto(f"{live_server.url}/sync/runs/{run.pk}/findings/")
    expect(page.get_by_test_id("finding")).to_have_count(50)
    expect(page.get_by_test_id("pager")).to_contain_text("Page 1 of 2 (56 findings)")
    shoot(page, "findings-page-many")
    page.get_by_role("link", name="Next →").click()
    expect(page.get_by_test_id("finding")).to_have_count(6)
    unknown = page.get_by_test_id("finding").filter(has_text="X-9")
    expect(unknown).to_contain_text("Reported by the pull of updated contacts, 3 times")
    expect(unknown.get_by_role("button")).to_have_text(["Ignore"])
    shoot(page, "findings-page-many-2")

    settings.SPOTLER_CONSUMER_SECRET = "wrong"
    failed = reconcile()
    page.goto(f"{live_server.url}/sync/runs/{failed.pk}/")
    expect(page.get_by_test_id("run-error")).to_contain_text("Spotler refused our credentials")
    expect(page.get_by_test_id("reconcile-none-yet")).to_have_text(
        "The run stopped before it compared any contact."
    )
    shoot(page, "run-page-failed")
