"""Every page of every role works under the Content-Security-Policy: no violation, no script error,
and the htmx parts (polling panels, the mapping editor) still do their work."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from contacts.ingest import upsert_contact
from spotlersync.roles import Role
from sync.models import SyncRun, SyncRunKind, SyncRunStatus, SyncRunTrigger
from tests.conftest import PASSWORD, make_user, transactional
from tests.public.lookup_helpers import make_lookup_page

# Records every CSP violation in the page, whichever frame or moment it happens in.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.href}:${event.lineNumber}`);
});
"""


@pytest.fixture
def watched(page: Page) -> Iterator[Page]:
    """The page, failing the test on any CSP violation, console error or uncaught script error."""
    problems: list[str] = []
    page.add_init_script(WATCH_VIOLATIONS)
    page.on("console", lambda message: _collect_console_error(page, message, problems))
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("framenavigated", lambda frame: _collect_violations(frame, problems))
    yield page
    _collect_violations(page.main_frame, problems)
    assert problems == []


def _collect_console_error(page: Page, message, problems: list[str]) -> None:
    url = message.location["url"]
    # Not a page's error: the browser's own request for a favicon (the site has none), and the
    # status of the document itself (the lockout page's 429), which the tests check.
    if message.type != "error" or url.endswith("/favicon.ico") or url == page.url:
        return
    problems.append(f"console: {message.text} ({url})")


def _collect_violations(frame, problems: list[str]) -> None:
    try:
        violations = frame.evaluate("window.__cspViolations || []")
    except Exception:  # a frame that is going away has nothing left to report
        return
    problems.extend(f"CSP: {v}" for v in violations)


def visit(page: Page, live_server, path: str, heading: str | re.Pattern) -> None:
    response = page.goto(f"{live_server.url}{path}")
    assert response.status == 200, path
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
    assert "camera=()" in response.headers.get("permissions-policy", ""), path
    expect(page.get_by_role("heading", name=heading).first).to_be_visible()
    _collect_violations(page.main_frame, [])  # nothing yet; the fixture checks at the end


def see_home_refresh_itself(page: Page, live_server) -> None:
    with page.expect_response(re.compile(r"/queue/summary/$"), timeout=15_000) as summary:
        page.goto(f"{live_server.url}/")
    assert summary.value.status == 200


def see_api_docs(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/api/v1/docs")
    # Swagger UI renders the operations from the OpenAPI document with its own scripts.
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)


def use_the_mapping_editor(page: Page, live_server) -> None:
    visit(page, live_server, "/mapping/", "Field mapping")
    preview = page.get_by_test_id("preview-json")
    expect(preview).to_contain_text('"externalId": "C-1"')
    rows_before = page.get_by_test_id("mapping-rows").locator("tbody tr").count()
    page.get_by_test_id("add-row").click()
    new_row = rows_before + 1
    page.get_by_label(f"Source field of row {new_row}").fill("city")
    page.get_by_label(f"Spotler property of row {new_row}").select_option("city")
    expect(preview).to_contain_text('"city": "Utrecht"')


def seed() -> SyncRun:
    upsert_contact(external_id="C-1", raw_fields={"email": "anna@example.nl", "city": "Utrecht"})
    return SyncRun.objects.create(
        kind=SyncRunKind.BACKFILL,
        trigger=SyncRunTrigger.DASHBOARD,
        status=SyncRunStatus.RUNNING,
        total=10,
    )


@transactional
def test_an_admin_uses_every_page_under_the_policy(live_server, watched, log_in, catalogue):
    run = seed()
    page = log_in("boss", Role.ADMIN)  # the watched page
    see_home_refresh_itself(page, live_server)
    visit(page, live_server, "/contacts/", "Contacts")
    visit(page, live_server, "/contacts/C-1/", "anna@example.nl")
    use_the_mapping_editor(page, live_server)
    visit(page, live_server, "/sync/runs/", "Syncs")
    with page.expect_response(re.compile(rf"/sync/runs/{run.pk}/progress/$")):
        visit(page, live_server, f"/sync/runs/{run.pk}/", re.compile(r"run #\d+"))
    visit(page, live_server, "/sync/health/", "Sync health")
    visit(page, live_server, "/queue/", "Queue")
    visit(page, live_server, "/imports/", "Import customers from a CSV file")
    visit(page, live_server, "/search/", "Search Spotler")
    visit(page, live_server, "/lookup-pages/", "Lookup pages")
    visit(page, live_server, "/lookup-pages/new/", "New lookup page")
    make_lookup_page()
    visit(page, live_server, "/lookup/offer/", "Your personal offer")

    visit(page, live_server, "/api-tokens/", "API tokens")
    page.get_by_role("button", name="New token").click()
    page.get_by_label("Name").fill("Webshop")
    page.get_by_role("button", name="Create token").click()
    page.goto(f"{live_server.url}/api-tokens/")
    table = page.get_by_test_id("token-table")
    questions: list[str] = []

    def answer(dialog, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    table.get_by_role("button", name="Revoke").click()
    expect(table).to_contain_text("active")  # Cancel keeps the token
    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    table.get_by_role("button", name="Revoke").click()
    expect(table).to_contain_text("revoked")
    assert questions == ["Revoke Webshop? Calls with it will be refused at once."] * 2

    visit(page, live_server, "/admin/", "Site administration")
    visit(page, live_server, "/admin/axes/accessattempt/", "Select access attempt to change")
    visit(page, live_server, "/admin/auth/user/add/", "Add user")
    page.get_by_label("Username").fill("newcomer")  # the admin's own scripts run
    see_api_docs(page, live_server)


@transactional
def test_a_marketer_uses_every_page_under_the_policy(live_server, watched, log_in, catalogue):
    seed()
    page = log_in("maria", Role.MARKETER)  # the watched page
    visit(page, live_server, "/", "Home")
    visit(page, live_server, "/contacts/", "Contacts")
    visit(page, live_server, "/contacts/C-1/", "anna@example.nl")
    use_the_mapping_editor(page, live_server)
    visit(page, live_server, "/sync/runs/", "Syncs")
    visit(page, live_server, "/sync/health/", "Sync health")
    see_api_docs(page, live_server)


@transactional
def test_an_account_manager_uses_every_page_under_the_policy(live_server, watched, log_in):
    seed()
    page = log_in("tom", Role.ACCOUNT_MANAGER)  # the watched page
    visit(page, live_server, "/", "Home")
    visit(page, live_server, "/contacts/", "Contacts")
    visit(page, live_server, "/contacts/C-1/", "anna@example.nl")
    see_api_docs(page, live_server)


@transactional
def test_the_lockout_page_works_under_the_policy(live_server, watched):
    page = watched
    make_user("marketer", role=Role.MARKETER)
    for password in ["wrong"] * 5 + [PASSWORD]:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("User name").fill("marketer")
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Login paused")).to_be_visible()
    expect(page.get_by_test_id("retry-at")).to_have_text(re.compile(r"^\d\d:\d\d"))
