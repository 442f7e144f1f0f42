"""The audit trail: each change people make leaves who, when, what and before → after; secrets
never reach the table or the page; an Admin reads and filters it; old entries are pruned."""

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from audit.retention import prune_audit_trail
from bounces.models import NotifyChoice
from contacts.models import ApiToken
from mapping.defaults import DEFAULT_ROWS
from mapping.versions import save_version
from public.models import LookupPage, SubscribeForm
from spotlersync.roles import Role
from sync import tasks
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

AUDIT = reverse("audit:entry-list")


def entries(**filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(**filters).order_by("pk"))


def whole_table() -> str:
    return json.dumps(list(AuditEntry.objects.values()), default=str)


def test_an_api_token_made_and_revoked_in_the_dashboard_is_recorded_without_its_secret(
    client_as,
):
    admin = client_as("admin")
    made = admin.post(reverse("contacts:token-create"), {"name": "Shop", "scope": "write"})
    secret = made.context["new"].secret
    token = ApiToken.objects.get(name="Shop")
    admin.post(reverse("contacts:token-revoke", args=[token.pk]))

    created, revoked = entries(object_type="api token")
    assert (created.actor_label, created.action, created.object_id) == (
        "admin", "created", str(token.pk)
    )  # fmt: skip
    assert created.changes["scope"] == [None, "write"]
    assert created.changes["prefix"] == [None, token.prefix]
    assert created.ip == "127.0.0.1"
    assert (revoked.actor_label, revoked.action) == ("admin", "revoked")
    assert revoked.changes["revoked_at"][0] is None and revoked.changes["revoked_at"][1]
    assert secret not in whole_table() and token.token_hash not in whole_table()
    page = admin.get(AUDIT).content.decode()
    assert "Shop" in page and secret not in page and token.token_hash not in page


def test_a_token_made_on_the_command_line_names_the_command_and_keeps_no_secret(db):
    out = io.StringIO()
    call_command(
        "create_api_token", "Reporting", "--scope", "read", stdout=out, stderr=io.StringIO()
    )
    secret = out.getvalue().strip()

    [entry] = entries(object_type="api token")
    assert entry.actor_label == "manage.py create_api_token" and entry.actor is None
    assert secret.startswith("ssk_") and secret not in whole_table()


def test_users_and_their_roles_are_recorded_with_passwords_masked(client_as):
    admin_client = client_as("admin")
    admin = User.objects.get(username="admin")
    AuditEntry.objects.all().delete()
    # The change comes through a request of the Admin's (as the Django admin makes it).
    from audit.trail import current_request

    request = admin_client.get(AUDIT).wsgi_request
    request.user = admin
    token = current_request.set(request)
    try:
        joost = User.objects.create_user("joost", password="s3cret-pass-word")
        joost.groups.add(Group.objects.get(name=Role.ACCOUNT_MANAGER))
        joost.is_active = False
        joost.set_password("an0ther-pass-word")
        joost.save()
        joost.groups.remove(Group.objects.get(name=Role.ACCOUNT_MANAGER))
    finally:
        current_request.reset(token)

    made, given, changed, taken = entries(object_type="user", object_label="joost")
    assert {e.actor_label for e in (made, given, changed, taken)} == {"admin"}
    assert made.action == "created" and made.changes["password"] == [None, "••••••"]
    assert given.changes == {"roles": [[], [Role.ACCOUNT_MANAGER]]}
    assert changed.changes == {"is_active": [True, False], "password": ["••••••", "••••••"]}
    assert taken.changes == {"roles": [[Role.ACCOUNT_MANAGER], []]}
    assert "pass-word" not in whole_table() and "md5$" not in whole_table()


def test_a_login_is_not_a_change_of_the_user(client, db):
    make_user("marta")
    AuditEntry.objects.all().delete()
    answer = client.post(
        reverse("login"), {"username": "marta", "password": "correct horse battery staple"}
    )
    assert answer.status_code == 302
    assert User.objects.get(username="marta").last_login is not None
    assert not entries(object_type="user")


def test_a_new_mapping_version_is_recorded_with_what_changed(marketer):
    rows = [r for r in DEFAULT_ROWS if r["property"] != "lastName"]
    version = save_version(rows=rows, author=marketer, note="no last names")

    [entry] = entries(object_type="mapping")
    assert (entry.actor_label, entry.action) == ("marketer", "saved")
    assert entry.object_label == f"version {version.number} (no last names)"
    assert entry.changes["version"] == [version.number - 1, version.number]
    assert entry.changes["changes"] == [[], version.diff]
    assert any("lastName" in line for line in version.diff)


def test_subscribe_forms_made_edited_and_switched_off_by_command_are_recorded(client_as, catalogue):
    admin = client_as("admin")
    data = {
        "slug": "spring", "title": "Spring news", "permission_bits": ["1"], "language": "nl",
        "thank_you_text": "Dank je!", "allowed_origins": "", "enabled": "on",
    }  # fmt: skip
    assert admin.post("/subscribe-forms/new/", data).status_code == 302
    form = SubscribeForm.objects.get(slug="spring")
    admin.post(f"/subscribe-forms/{form.pk}/edit/", {**data, "title": "Summer <news>"})
    call_command("subscription_form", "spring", "--off", stdout=io.StringIO())

    made, edited, switched = entries(object_type="subscribe form")
    assert (made.actor_label, made.action, made.object_label) == ("admin", "created", "spring")
    assert made.changes["enabled"] == [None, True]
    assert edited.action == "changed"
    assert edited.changes == {"title": ["Spring news", "Summer <news>"]}
    assert (switched.actor_label, switched.action) == (
        "manage.py subscription_form", "switched off"
    )  # fmt: skip
    assert switched.changes == {"enabled": [True, False]}
    page = admin.get(AUDIT).content.decode()
    assert "Summer &lt;news&gt;" in page and "Summer <news>" not in page  # escaped


def test_lookup_pages_made_and_edited_are_recorded(client_as, catalogue):
    from tests.public.test_lookup_pages_config import form_data

    admin = client_as("admin")
    admin.post(reverse("public:lookup-page-create"), form_data())
    page = LookupPage.objects.get(slug="offer")
    admin.post(reverse("public:lookup-page-edit", args=[page.pk]), form_data(enabled=""))

    made, edited = entries(object_type="lookup page")
    assert (made.action, made.object_label, made.actor_label) == ("created", "offer", "admin")
    assert edited.changes == {"enabled": [True, False]}


def test_a_new_notification_setting_is_recorded_as_the_users_own(client_as):
    client = client_as("accountmanager")
    client.post(reverse("bounces:notifications"), {"choice": NotifyChoice.DAILY})
    client.post(reverse("bounces:notifications"), {"choice": NotifyChoice.DAILY})

    [entry] = entries(object_type="notification settings")
    assert entry.actor_label == "accountmanager"
    assert entry.changes == {"choice": [NotifyChoice.NONE, NotifyChoice.DAILY]}


def test_manual_syncs_from_the_dashboard_and_the_command_line_are_recorded(client_as):
    admin = client_as("admin")
    admin.post(reverse("sync:run-start"), {"action": "backfill", "backfill-confirm": "on"})
    call_command("sync", "refresh-properties", stdout=io.StringIO())

    dashboard, command = entries(object_type="sync run")
    assert (dashboard.actor_label, dashboard.action) == ("admin", "started")
    assert dashboard.changes["kind"] == [None, "backfill"]
    assert dashboard.changes["trigger"] == [None, "dashboard"]
    assert command.actor_label == "manage.py sync"
    assert command.changes["kind"] == [None, "refresh_properties"]


def test_an_admin_filters_the_trail_by_who_what_action_and_date(client_as):
    admin = client_as("admin")
    AuditEntry.objects.all().delete()
    now = timezone.now()
    AuditEntry.objects.create(
        at=now - timedelta(days=10), actor_label="marketer", action="saved", object_type="mapping"
    )
    AuditEntry.objects.create(
        at=now, actor_label="manage.py sync", action="started", object_type="sync run"
    )
    AuditEntry.objects.create(
        at=now, actor_label="api token “Shop” (ssk_abcd…)", action="created",
        object_type="temporary list", object_label="Event guests",
    )  # fmt: skip

    def shown(**query) -> list[str]:
        page = admin.get(AUDIT, query).context["page"]
        return [e.object_type for e in page.object_list]

    assert shown() == ["temporary list", "sync run", "mapping"]  # newest first
    assert shown(actor="shop") == ["temporary list"]
    assert shown(object_type="mapping") == ["mapping"]
    assert shown(action="started") == ["sync run"]
    since = (now - timedelta(days=1)).date().isoformat()
    until = (now - timedelta(days=5)).date().isoformat()
    assert shown(since=since) == ["temporary list", "sync run"]
    assert shown(until=until) == ["mapping"]
    page = admin.get(AUDIT).content.decode()
    assert "api token “Shop” (ssk_abcd…)" in page


def test_the_trail_is_paged_fifty_at_a_time(client_as):
    admin = client_as("admin")
    AuditEntry.objects.all().delete()
    AuditEntry.objects.bulk_create(
        AuditEntry(actor_label="system", action=f"a{i}", object_type="x") for i in range(60)
    )
    first = admin.get(AUDIT).context["page"]
    second = admin.get(AUDIT, {"page": 2}).context["page"]
    assert len(first.object_list) == 50 and len(second.object_list) == 10


def test_only_an_admin_reads_the_trail(client_as):
    assert client_as("marketer").get(AUDIT).status_code == 403


def test_entries_older_than_the_retention_are_pruned_by_the_nightly_job(db, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    now = timezone.now()
    AuditEntry.objects.create(at=now - timedelta(days=31), actor_label="old", action="x")
    AuditEntry.objects.create(at=now - timedelta(days=29), actor_label="kept", action="x")

    assert "1 audit entries" in tasks.prune_sync_history()
    assert [e.actor_label for e in AuditEntry.objects.all()] == ["kept"]
    assert prune_audit_trail(days=1) == 1
