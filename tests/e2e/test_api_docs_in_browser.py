from urllib.parse import urlsplit

from playwright.sync_api import expect

from spotlersync.roles import Role
from tests.conftest import transactional


@transactional
def test_the_api_docs_page_shows_every_call_without_reaching_outside(live_server, log_in):
    page = log_in("dev", Role.MARKETER)
    outside = []
    own_host = urlsplit(live_server.url).netloc

    def refuse_outside(route):
        if urlsplit(route.request.url).netloc == own_host:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", refuse_outside)
    page.goto(f"{live_server.url}/api/v1/docs")

    expect(page.get_by_role("heading", name="spotlersync ingest API")).to_be_visible()
    for path in ("/api/v1/contacts/batch", "/api/v1/orders", "/api/v1/changes"):
        expect(page.get_by_text(path, exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    assert outside == []
