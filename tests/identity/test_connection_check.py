"""*Test connection* against the real sandbox: what it finds when Spotler answers, and Spotler's
own reason in plain words when it does not (bad credentials, down, faulting, hanging, 429)."""

import socket

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from identity import connection
from identity.models import SpotlerAccount
from mapping.models import SpotlerProperty
from spotler.sandbox import catalogue as sandbox_catalogue
from sync import spotler_connection
from sync.models import RateSlot
from sync.ratelimit import throttled_until
from tests.identity.connection_helpers import (
    KEY,
    MASKED_KEY,
    SECRET,
    shows_no_part_of_the_secret,
    spotler_account,  # noqa: F401 (a fixture)
)

pytestmark = pytest.mark.usefixtures("spotler_account")


def check_entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="checked", object_type="Spotler connection"))


def test_a_check_reports_the_accounts_properties_permissions_lists_and_round_trip(
    admin_user, spotler_sandbox
):
    spotler_sandbox.control("POST", "templists", {"consumer_key": "other-system", "count": 3})

    found = connection.check_connection(by=admin_user)

    assert found["ok"] is True
    assert found["properties"]["count"] == len(sandbox_catalogue.PROPERTIES)
    assert found["properties"]["names"][:3] == [p.name for p in sandbox_catalogue.PROPERTIES[:3]]
    assert [p["description"] for p in found["permissions"]] == [
        "Newsletter",
        "Promotions",
        "Surveys",
    ]
    assert found["templists"] == {"in_use": 3, "limit": 30, "free": 27, "ours": 0, "others": 3}
    calls = [call["call"] for call in found["calls"]]
    assert calls == ["GET contact/properties/list", "GET templist"]
    assert 0 <= found["round_trip_ms"] < 5000
    assert found["rate_limit"] == {
        "seen": False,
        "text": "No limit reported; we keep to 10 requests per second (SPOTLER_RATE_LIMIT).",
    }
    assert found["consumer_key"] == MASKED_KEY
    account = SpotlerAccount.current()
    assert account.last_check == found
    assert timezone.now() - account.last_check_at < timezone.timedelta(seconds=30)


def test_a_check_takes_its_calls_from_the_shared_rate_limit(admin_user):
    connection.check_connection(by=admin_user)

    assert RateSlot.objects.count() == 2


def test_a_check_is_audited_with_who_ran_it_and_the_result(admin_user):
    connection.check_connection(by=admin_user)

    [entry] = check_entries()
    assert entry.actor == admin_user
    assert entry.changes["result"] == [None, "ok"]
    assert "reason" not in entry.changes  # no failure, no reason


def test_the_check_compares_spotlers_properties_with_the_mappings_catalogue(admin_user, catalogue):
    SpotlerProperty.objects.filter(name="city").delete()
    now = timezone.now()
    SpotlerProperty.objects.create(
        name="oldField", type="string", description="Old", first_seen_at=now, last_seen_at=now
    )

    found = connection.check_connection(by=admin_user)

    assert found["properties"]["new"] == ["city"]
    assert found["properties"]["gone"] == ["oldField"]


def test_a_wrong_secret_is_reported_as_refused_credentials_in_spotlers_words(admin_user, settings):
    settings.SPOTLER_CONSUMER_SECRET = "not-the-right-one"

    found = connection.check_connection(by=admin_user)

    assert found["ok"] is False
    error = found["error"]
    assert error["status"] == 401
    assert error["reason"].startswith("Spotler refused our credentials. Check SPOTLER_CONSUMER_KEY")
    assert error["spotler_says"].startswith(
        "Spotler answered 401 NOT_AUTHORIZED: Invalid signature"
    )
    assert "templists" not in found  # stopped at the first refusal
    [entry] = check_entries()
    assert entry.changes["result"] == [None, "failed"]
    assert entry.changes["reason"][1] == error["reason"]


def test_an_unknown_key_is_named_only_masked(admin_user, settings):
    settings.SPOTLER_CONSUMER_KEY = "nobody-knows-this-key"

    found = connection.check_connection(by=admin_user)

    assert found["error"]["spotler_says"] == (
        "Spotler answered 401 NOT_AUTHORIZED: Unknown consumer key 'nobo••••••ey'"
    )
    assert "nobody-knows-this-key" not in str(SpotlerAccount.current().last_check)


def test_the_secret_never_reaches_the_stored_check_or_the_audit_trail(admin_user, settings):
    connection.check_connection(by=admin_user)
    settings.SPOTLER_CONSUMER_SECRET = SECRET + "-wrong"
    connection.check_connection(by=admin_user)

    stored = str(SpotlerAccount.current().last_check)
    audited = str([e.changes for e in AuditEntry.objects.all()])
    assert shows_no_part_of_the_secret(stored)
    assert shows_no_part_of_the_secret(audited)
    assert KEY not in stored


def test_spotler_down_is_reported_as_unreachable(admin_user, settings):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.SPOTLER_BASE_URL = f"http://127.0.0.1:{port}/integrationservice"

    found = connection.check_connection(by=admin_user)

    assert found["ok"] is False
    assert found["error"]["status"] is None
    assert found["error"]["reason"].startswith("Spotler could not be reached")
    assert "the connection failed" in found["error"]["spotler_says"]
    assert found["round_trip_ms"] is None
    assert found["calls"][0]["answered"] is False


def test_spotler_failing_with_5xx_is_reported_as_spotlers_own_problem(admin_user, spotler_sandbox):
    spotler_sandbox.set(error_rate=1, error_statuses=[503])

    found = connection.check_connection(by=admin_user)

    assert found["error"]["status"] == 503
    assert found["error"]["reason"].startswith(
        "Spotler had a problem of its own (HTTP 503); our settings are not the cause."
    )
    assert "Injected failure: HTTP 503" in found["error"]["spotler_says"]
    assert found["round_trip_ms"] is not None  # Spotler answered, if only to refuse


def test_spotler_hanging_is_reported_after_the_short_wait_of_a_page(
    admin_user, spotler_sandbox, monkeypatch
):
    monkeypatch.setattr(spotler_connection, "WAITING_TIMEOUT", (2.0, 0.5))
    spotler_sandbox.set(hang_rate=1, hang_seconds=5)

    found = connection.check_connection(by=admin_user)

    assert found["error"]["reason"].startswith("Spotler could not be reached")
    assert found["error"]["spotler_says"] == (
        "Spotler did not answer within 0.5 s (GET contact/properties/list, read timeout)"
    )
    assert found["calls"][0]["ms"] >= 500


def test_a_429_is_the_rate_limit_seen_and_holds_every_worker_back(admin_user, spotler_sandbox):
    spotler_sandbox.control("POST", "burst429", {"count": 1, "retry_after": 30})

    found = connection.check_connection(by=admin_user)

    assert found["error"]["status"] == 429
    assert found["rate_limit"] == {
        "seen": True,
        "text": "Spotler answered 429 (too many requests) and asked us to wait 30 s; "
        "every worker holds back.",
    }
    assert throttled_until() is not None


def test_while_spotler_holds_us_back_a_check_says_so_without_calling(admin_user, spotler_sandbox):
    spotler_sandbox.control("POST", "burst429", {"count": 1, "retry_after": 30})
    connection.check_connection(by=admin_user)
    calls_before = spotler_sandbox.requests()

    found = connection.check_connection(by=admin_user)

    assert spotler_sandbox.requests() == calls_before
    assert found["calls"] == []
    assert found["error"]["reason"].startswith("Spotler asked us to hold back until ")
    assert found["rate_limit"]["seen"] is True


@pytest.mark.parametrize(
    ("key", "shown"),
    [("spotlersync-demo", "spot••••••mo"), ("short-key", "••••••"), ("", "••••••")],
)
def test_the_key_is_shown_partly_masked(key, shown):
    assert connection.masked_key(key) == shown


def test_a_password_in_the_base_url_is_not_shown():
    assert connection.shown_url("https://user:pw@restapi.example:8443/integrationservice") == (
        "https://••••••@restapi.example:8443/integrationservice"
    )
