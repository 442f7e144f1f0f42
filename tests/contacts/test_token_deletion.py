"""A token deleted in the Django admin stops working on the very next call, like a revoked one,
although valid tokens are kept a minute in the shared cache."""

from django.test import Client
from django.urls import reverse

from contacts.models import ApiToken, TokenScope
from contacts.tokens import create_api_token
from tests.contacts.conftest import ApiClient


def token_in_use(name: str = "Shop") -> tuple[ApiToken, ApiClient]:
    new = create_api_token(name=name, scope=TokenScope.WRITE)
    api = ApiClient(Client(), new.secret)
    assert api.get("changes").status_code == 200  # now in the shared cache
    return new.token, api


def test_a_token_deleted_in_the_admin_is_refused_on_the_next_call(
    client_as, django_capture_on_commit_callbacks
):
    token, api = token_in_use()
    admin = client_as("admin")
    url = reverse("admin:contacts_apitoken_delete", args=[token.pk])
    assert "Are you sure" in admin.get(url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not ApiToken.objects.exists()
    refused = api.get("changes")
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_token"


def test_tokens_deleted_with_the_admins_bulk_action_are_refused_on_the_next_call(
    client_as, django_capture_on_commit_callbacks
):
    (first, first_api), (second, second_api) = token_in_use("Shop"), token_in_use("CRM")
    kept, kept_api = token_in_use("Reporting")
    admin = client_as("admin")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            reverse("admin:contacts_apitoken_changelist"),
            {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
        )

    assert response.status_code == 302
    assert list(ApiToken.objects.all()) == [kept]
    assert first_api.get("changes").status_code == 401
    assert second_api.get("changes").status_code == 401
    assert kept_api.get("changes").status_code == 200
