from datetime import timedelta
from io import StringIO

from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.models import ApiToken, Contact, TokenScope
from contacts.tokens import create_api_token, hash_token, revoke_api_token
from tests.contacts.conftest import ApiClient, anna, make_token


def test_a_call_without_a_token_is_401_saying_how_to_send_one(client, db):
    response = ApiClient(client, None).put("contacts/C1", anna())

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "missing_token"
    assert "Authorization: Bearer" in response.json()["detail"]
    assert not Contact.objects.exists()


def test_a_call_with_an_unknown_token_is_401(client, db):
    response = ApiClient(client, "ssk_made-up").get("changes")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_a_revoked_token_is_401_and_says_it_was_revoked(client, db):
    new = create_api_token(name="Old shop", scope=TokenScope.WRITE)
    new.token.revoked_at = timezone.now()
    new.token.save()

    response = ApiClient(client, new.secret).get("changes")

    assert response.status_code == 401
    assert response.json()["error"] == "token_revoked"
    assert "Old shop" in response.json()["detail"]


def test_a_token_in_use_is_refused_on_the_very_next_call_after_it_is_revoked(client, db):
    new = create_api_token(name="Shop", scope=TokenScope.READ)
    api = ApiClient(client, new.secret)
    assert api.get("changes").status_code == 200  # now known to every process's cache
    revoke_api_token(token=new.token)
    assert api.get("changes").status_code == 401


def test_a_read_only_token_may_read_but_not_write(read_api):
    assert read_api.get("changes").status_code == 200

    response = read_api.put("contacts/C1", anna())

    assert response.status_code == 403
    assert response.json()["error"] == "read_only_token"
    assert "write scope" in response.json()["detail"]
    assert not Contact.objects.exists()


def test_every_write_endpoint_refuses_a_read_only_token(api, read_api):
    api.put("contacts/C1", anna())

    calls = [
        read_api.put("contacts/C1", anna()),
        read_api.delete("contacts/C1"),
        read_api.post("contacts/C1/inactivate"),
        read_api.post("contacts/batch", {"contacts": []}),
        read_api.post("orders", {}),
    ]

    assert [c.status_code for c in calls] == [403] * 5
    assert Contact.objects.get().erased_at is None


def test_only_a_hash_and_a_short_prefix_of_the_token_are_stored(db):
    new = create_api_token(name="Shop", scope=TokenScope.WRITE)

    stored = ApiToken.objects.values().get()
    assert new.secret not in str(stored)
    assert stored["token_hash"] == hash_token(new.secret)
    assert new.secret.startswith(stored["prefix"]) and len(stored["prefix"]) == 12


def test_last_used_is_written_at_most_once_a_minute(client, db):
    new = create_api_token(name="Shop", scope=TokenScope.READ)
    api = ApiClient(client, new.secret)

    api.get("changes")
    first = ApiToken.objects.get().last_used_at
    api.get("changes")
    assert ApiToken.objects.get().last_used_at == first

    # Two minutes later: the last use is old, and the cached token (kept a minute) is gone.
    ApiToken.objects.update(last_used_at=first - timedelta(minutes=2))
    cache.delete(f"api-token:{ApiToken.objects.get().token_hash}")
    api.get("changes")
    assert ApiToken.objects.get().last_used_at > first - timedelta(minutes=2)


def test_the_command_prints_a_working_token_once(client, db):
    out, err = StringIO(), StringIO()

    call_command("create_api_token", "Automation", "--scope", "write", stdout=out, stderr=err)

    secret = out.getvalue().strip()
    assert "not shown again" in err.getvalue()
    assert ApiToken.objects.get().scope == TokenScope.WRITE
    assert ApiClient(client, secret).put("contacts/C1", anna()).status_code == 202


def test_an_admin_creates_a_token_sees_it_once_and_it_works(client_as):
    client = client_as("admin")

    response = client.post(
        reverse("contacts:token-create"), {"name": "Webshop production", "scope": "write"}
    )

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.context["new"].secret
    assert secret in response.content.decode()
    assert "shown only this once" in response.content.decode()
    listing = client.get(reverse("contacts:token-list")).content.decode()
    assert "Webshop production" in listing
    assert secret[:12] in listing and secret not in listing
    assert ApiClient(Client(), secret).put("contacts/C1", anna()).status_code == 202


def test_the_token_list_shows_scope_prefix_last_use_and_revocation(client_as, db):
    used = create_api_token(name="Shop <b>", scope=TokenScope.READ).token
    used.last_used_at = timezone.now()
    used.revoked_at = timezone.now()
    used.save()

    page = client_as("admin").get(reverse("contacts:token-list")).content.decode()

    assert "Shop &lt;b&gt;" in page
    assert used.prefix in page
    assert "revoked" in page
    assert "Read" in page


def test_an_admin_revokes_a_token_and_it_stops_working_at_once(client_as):
    new = create_api_token(name="Shop", scope=TokenScope.WRITE)
    client = client_as("admin")

    response = client.post(reverse("contacts:token-revoke", args=[new.token.pk]), follow=True)

    assert "Revoked “Shop”" in response.content.decode()
    assert ApiToken.objects.get().revoked_at is not None
    assert ApiClient(Client(), new.secret).get("changes").status_code == 401


def test_revoking_needs_the_csrf_token(admin_user):
    new = create_api_token(name="Shop", scope=TokenScope.WRITE)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = client.post(reverse("contacts:token-revoke", args=[new.token.pk]))

    assert response.status_code == 403
    assert ApiToken.objects.get().revoked_at is None


def test_revoking_needs_a_post(client_as):
    new = create_api_token(name="Shop", scope=TokenScope.WRITE)

    response = client_as("admin").get(reverse("contacts:token-revoke", args=[new.token.pk]))

    assert response.status_code == 405
    assert ApiToken.objects.get().revoked_at is None


def test_a_marketer_cannot_create_tokens(client_as):
    response = client_as("marketer").post(
        reverse("contacts:token-create"), {"name": "Mine", "scope": "write"}
    )

    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_the_api_ignores_a_dashboard_login(client_as):
    client = client_as("admin")
    make_token()

    response = client.put("/api/v1/contacts/C1", data=anna(), content_type="application/json")

    assert response.status_code == 401


def test_a_token_over_its_calls_per_minute_gets_429_with_retry_after(api, settings):
    settings.API_RATE_LIMIT = 3
    answers = [api.get("changes").status_code for _ in range(3)]

    response = api.put("contacts/C1", anna())

    assert answers == [200, 200, 200]
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert not Contact.objects.exists()


def test_each_token_has_its_own_allowance(client, api, settings):
    settings.API_RATE_LIMIT = 1
    api.get("changes")

    assert ApiClient(client, make_token(name="Other")).get("changes").status_code == 200


def test_only_admins_see_the_api_tokens_link(client_as):
    link = f'href="{reverse("contacts:token-list")}"'

    assert link in client_as("admin").get(reverse("home")).content.decode()


def test_marketers_do_not_see_the_api_tokens_link(client_as):
    link = f'href="{reverse("contacts:token-list")}"'

    assert link not in client_as("marketer").get(reverse("home")).content.decode()


def test_the_api_needs_no_csrf_token_only_a_bearer_token(db):
    secret = make_token()
    client = Client(enforce_csrf_checks=True)

    response = ApiClient(client, secret).put("contacts/C1", anna())

    assert response.status_code == 202
