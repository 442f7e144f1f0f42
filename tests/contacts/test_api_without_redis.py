"""With Redis (the shared cache and queue broker) down, the ingest API still accepts changes:
tokens are read from the database, calls go uncounted, and the change waits in the outbox for
the scheduled push. The log says so, once a minute per kind of fallback."""

import logging
import socket

import pytest

from contacts.models import Contact, TokenScope
from contacts.tokens import create_api_token, revoke_api_token
from spotlersync import cache_outage
from sync.models import OutboxEntry, OutboxStatus
from tests.contacts.conftest import ApiClient, anna


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_down(settings, monkeypatch):
    settings.CACHES = {
        "default": {
            "BACKEND": "spotlersync.redis_cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    monkeypatch.setattr(cache_outage, "_last_warned", {})


def test_with_redis_down_a_put_is_accepted_and_its_change_waits_for_the_scheduled_push(
    api, redis_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api.put("contacts/C1", anna())

    assert response.status_code == 202
    assert callbacks  # the push was asked for, and Redis being down did not fail the call
    assert Contact.objects.get(external_id="C1").email == "anna@example.com"
    assert OutboxEntry.objects.get(contact__external_id="C1").status == OutboxStatus.PENDING
    assert api.get("contacts/C1").status_code == 200


def test_with_redis_down_a_revoked_token_is_refused_on_the_next_call(client, db, redis_down):
    new = create_api_token(name="Shop", scope=TokenScope.READ)
    api = ApiClient(client, new.secret)
    assert api.get("changes").status_code == 200

    assert revoke_api_token(token=new.token)

    assert api.get("changes").status_code == 401


def test_with_redis_down_calls_are_not_counted_against_the_rate_limit(
    read_api, redis_down, settings
):
    settings.API_RATE_LIMIT = 1

    assert [read_api.get("changes").status_code for _ in range(3)] == [200, 200, 200]


def test_with_redis_down_the_log_says_what_goes_without_it_once_a_minute(
    api, redis_down, caplog, django_capture_on_commit_callbacks
):
    with caplog.at_level(logging.WARNING, logger="spotlersync.cache_outage"):
        for n in range(3):
            with django_capture_on_commit_callbacks(execute=True):
                assert api.put(f"contacts/C{n}", anna()).status_code == 202

    lines = [r.getMessage() for r in caplog.records if r.name == "spotlersync.cache_outage"]
    assert len(lines) == 3, lines  # tokens, call counts, push requests: one line each
    assert all(line.startswith("Redis is unreachable") for line in lines)
    assert any("read from the database" in line for line in lines)
    assert any("not counted against API_RATE_LIMIT" in line for line in lines)
    assert any("wait in the outbox for the scheduled push" in line for line in lines)
