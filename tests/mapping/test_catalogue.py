"""The property catalogue comes from the sandbox over real, signed HTTP."""

import spotler
from mapping.catalogue import refresh_catalogue
from mapping.models import CatalogueRefresh, SpotlerProperty
from mapping.stored_catalogue import catalogue_entries, mapping_drift
from tests.conftest import transactional


def client_for(sandbox, *, secret: str | None = None) -> spotler.SpotlerClient:
    return spotler.SpotlerClient(
        base_url=sandbox.base_url,
        consumer_key=sandbox.consumer_key,
        consumer_secret=secret or sandbox.consumer_secret,
        retry=spotler.RetryPolicy(max_retries=0),
    )


def test_a_refresh_stores_every_property_with_its_type_and_permission_bits(db, spotler_sandbox):
    refresh = refresh_catalogue(client=client_for(spotler_sandbox))
    assert refresh.ok
    permissions = SpotlerProperty.objects.get(name="permissions")
    assert permissions.type == "set"
    assert 1 in permissions.bits
    assert SpotlerProperty.objects.get(name="email").type == "email"
    assert "email" in refresh.added
    entries = catalogue_entries()
    assert entries["firstPurchaseDate"].type == "dateTime"


def test_a_second_refresh_with_nothing_changed_reports_nothing(db, spotler_sandbox):
    client = client_for(spotler_sandbox)
    refresh_catalogue(client=client)
    second = refresh_catalogue(client=client)
    assert (second.added, second.removed, second.changed) == ([], [], [])


def test_a_failed_refresh_is_recorded_with_spotlers_reason_and_keeps_the_old_catalogue(
    db, spotler_sandbox
):
    refresh_catalogue(client=client_for(spotler_sandbox))
    failed = refresh_catalogue(client=client_for(spotler_sandbox, secret="wrong"))
    assert not failed.ok
    assert "401" in failed.error
    assert "wrong" not in failed.error
    assert SpotlerProperty.objects.present().filter(name="email").exists()
    assert CatalogueRefresh.objects.filter(ok=True).count() == 1


def test_the_default_mapping_fits_the_sandbox_account(db, spotler_sandbox):
    refresh_catalogue(client=client_for(spotler_sandbox))
    assert mapping_drift() == []


@transactional
def test_refresh_now_runs_on_the_queue_and_the_properties_appear(client, spotler_sandbox):
    from django.urls import reverse

    from tests.conftest import make_user
    from tests.helpers import wait_for
    from tests.queue_cluster import running_cluster

    client.force_login(make_user("maria", role="Marketer"))
    sandbox_env = {"SPOTLER_BASE_URL": spotler_sandbox.base_url}
    with running_cluster(workers=1, extra_env=sandbox_env):
        response = client.post(reverse("mapping:catalogue-refresh"), follow=True)
        assert "Fetching Spotler&#x27;s properties" in response.content.decode()
        assert wait_for(lambda: SpotlerProperty.objects.filter(name="permissions").exists())
    html = client.get(reverse("mapping:mapping-edit")).content.decode()
    assert "Spotler properties (" in html
    assert "<code>permissions</code>" in html


def test_the_scheduled_refresh_keeps_to_the_rate_limit_every_worker_shares(
    db, spotler_sandbox, settings
):
    # Spotler takes two calls a second, and so do we: refreshes back to back wait their turn
    # instead of being refused (a refusal would hold every worker back).
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    settings.SPOTLER_RATE_LIMIT = 2
    spotler_sandbox.set(rate_limit=2)

    refreshes = [refresh_catalogue() for _ in range(4)]

    assert all(refresh.ok for refresh in refreshes), [r.error for r in refreshes]
    assert spotler_sandbox.requests()["GET contact/properties/list"] == {"200": 4}
