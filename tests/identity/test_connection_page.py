"""The Spotler connection page: what an Admin sees, the account form (audited; bad input writes
nothing), *test connection* with and without htmx, and where the page is linked from."""

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from identity.models import DedupeMode, SpotlerAccount
from spotlersync.roles import Role
from tests.conftest import make_user
from tests.identity.connection_helpers import (
    MASKED_KEY,
    shows_no_part_of_the_secret,
    spotler_account,  # noqa: F401 (a fixture)
)

pytestmark = pytest.mark.usefixtures("spotler_account")
PAGE = reverse("identity:connection-edit")
CHECK = reverse("identity:connection-check")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def account_form(**changes) -> dict:
    form = {"dedupe_mode": "externalId", "external_id_field": "External id"}
    return {**form, **changes}


def test_the_page_shows_the_url_the_masked_key_and_the_rate_limit_but_no_secret(
    admin_client, spotler_sandbox
):
    page = admin_client.get(PAGE).content.decode()

    assert f'<code data-testid="base-url">{spotler_sandbox.base_url}</code>' in page
    assert f'<code data-testid="consumer-key">{MASKED_KEY}</code>' in page
    assert "10 requests per second, all workers together" in page
    assert "Not tested yet." in page
    assert shows_no_part_of_the_secret(page)


def test_saving_the_account_keeps_it_and_writes_before_and_after_to_the_audit_trail(
    admin_client, admin_user
):
    form = account_form(
        dedupe_mode="email", external_id_field="Webshop id", shared_with_other_systems="on"
    )
    response = admin_client.post(PAGE, form, follow=True)

    assert "Saved. The change is in the audit trail." in response.content.decode()
    account = SpotlerAccount.current()
    assert account.dedupe_mode == DedupeMode.EMAIL
    assert account.external_id_field == "Webshop id"
    assert account.shared_with_other_systems is True
    [entry] = AuditEntry.objects.filter(object_type="Spotler account")
    assert entry.actor == admin_user
    assert entry.action == "changed"
    assert entry.changes == {
        "dedupe_mode": ["externalId", "email"],
        "external_id_field": ["External id", "Webshop id"],
        "shared_with_other_systems": [False, True],
    }


def test_saving_what_is_already_there_writes_nothing(admin_client):
    response = admin_client.post(PAGE, account_form(), follow=True)

    assert "Nothing changed." in response.content.decode()
    assert not AuditEntry.objects.filter(object_type="Spotler account").exists()


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (account_form(external_id_field="  "), "Name the Spotler field; “External id” is"),
        (account_form(dedupe_mode="phone"), "Select a valid choice."),
        (account_form(external_id_field="a" * 101), "at most 100 characters"),
        (account_form(external_id_field="Shop\nid"), "no line breaks or control characters"),
    ],
)
def test_bad_input_gets_a_clear_message_and_writes_nothing(admin_client, form, message):
    response = admin_client.post(PAGE, form)

    page = response.content.decode()
    assert "Nothing was saved: see below." in page
    assert message in page
    assert SpotlerAccount.current().external_id_field == "External id"
    assert not AuditEntry.objects.filter(object_type="Spotler account").exists()


def test_several_systems_sharing_the_account_get_a_warning_naming_the_risks(admin_client):
    assert 'data-testid="shared-warning"' not in admin_client.get(PAGE).content.decode()

    admin_client.post(PAGE, account_form(shared_with_other_systems="on"))
    page = admin_client.get(PAGE).content.decode()

    assert "Several linked systems share this Spotler account." in page
    assert "this key's is “External id”" in page
    assert "contacts get switched" in page
    assert "may no longer find its contact" in page


def test_the_page_explains_what_each_deduplication_mode_means(admin_client):
    page = admin_client.get(PAGE).content.decode()

    assert "stay two contacts in Spotler, and both may get the same mailing" in page
    assert "would merge into that Spotler contact" in page
    assert "holds such a contact back for review" in page


def test_test_connection_with_htmx_answers_the_panel_with_what_spotler_showed(
    admin_client, spotler_sandbox
):
    spotler_sandbox.control("POST", "templists", {"consumer_key": "other-system", "count": 2})

    response = admin_client.post(CHECK, HTTP_HX_REQUEST="true")

    panel = response.content.decode()
    assert response.status_code == 200
    assert panel.lstrip().startswith('<article id="connection-check"')
    assert "Spotler answered: the connection works." in panel
    assert "by admin" in panel
    assert "2 of 30" in panel
    assert "(0 ours, 2 other systems'); 28 free" in panel
    assert 'Newsletter <small class="muted">(bit 1)</small>' in panel
    assert "No limit reported; we keep to 10 requests per second" in panel


def test_test_connection_without_script_goes_back_to_the_page_with_the_result(
    admin_client, settings
):
    settings.SPOTLER_CONSUMER_SECRET = "wrong-secret"

    response = admin_client.post(CHECK, follow=True)

    page = response.content.decode()
    assert response.redirect_chain == [(PAGE, 302)]
    assert "The connection test failed: Spotler refused our credentials." in page
    assert "The test failed." in page
    assert "Spotler answered 401 NOT_AUTHORIZED: Invalid signature" in page


def test_a_failed_check_is_a_page_not_a_server_error(admin_client, spotler_sandbox):
    spotler_sandbox.set(error_rate=1, error_statuses=[500])

    response = admin_client.post(CHECK, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "Spotler had a problem of its own (HTTP 500)" in response.content.decode()


def test_test_connection_is_a_post_only(admin_client):
    assert admin_client.get(CHECK).status_code == 405


def test_the_connection_is_in_the_admins_more_menu_and_on_their_home(admin_client):
    home = admin_client.get("/").content.decode()

    assert f'href="{PAGE}" data-testid="nav-connection"' in home
    assert 'data-testid="home-connection"' in home
    assert "Not tested yet." in home


def test_the_home_of_an_admin_tells_how_the_last_check_went(admin_client, settings):
    admin_client.post(CHECK)
    assert "Works</span>: tested 0" in admin_client.get("/").content.decode()

    settings.SPOTLER_CONSUMER_SECRET = "wrong-secret"
    admin_client.post(CHECK)
    home = admin_client.get("/").content.decode()
    assert "The last test failed" in home
    assert "Spotler refused our credentials." in home


def test_a_marketer_neither_sees_nor_opens_the_connection(client, db):
    client.force_login(make_user("marketer", role=Role.MARKETER))

    home = client.get("/").content.decode()
    assert 'data-testid="nav-connection"' not in home
    assert 'data-testid="home-connection"' not in home
    assert client.get(PAGE).status_code == 403
    assert client.post(CHECK).status_code == 403
    assert client.post(PAGE, account_form(dedupe_mode="email")).status_code == 403
    assert SpotlerAccount.objects.filter(dedupe_mode="email").count() == 0


def test_the_audit_trail_lists_each_test_with_its_result_and_each_change(admin_client, settings):
    admin_client.post(PAGE, account_form(dedupe_mode="email"))
    settings.SPOTLER_CONSUMER_SECRET = "wrong-secret"
    admin_client.post(CHECK)

    trail = admin_client.get(reverse("audit:entry-list")).content.decode()

    assert "<td>checked</td>" in trail
    assert '<strong>result</strong>: <span class="muted">—</span> → <code>failed</code>' in trail
    assert "<strong>dedupe_mode</strong>: <code>externalId</code> → <code>email</code>" in trail
