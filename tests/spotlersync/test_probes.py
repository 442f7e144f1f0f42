"""/healthz and /readyz, as a load balancer or orchestrator asks them."""

import time

import pytest
from django.core.cache import cache
from django_q.conf import Conf

from spotlersync import queue_presence
from tests.queue_cluster import running_cluster


@pytest.fixture
def no_cluster_heard_of(db):
    cache.delete(f"queue-heartbeat:{queue_presence.default_queue()}")


def heard_of_a_cluster_now() -> None:
    queue_presence.report_alive(queue_presence.default_queue())  # what a running cluster does


def test_healthz_answers_ok_without_touching_the_database(client):
    # No `db` fixture: pytest-django makes any database access fail this test.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok"
    assert not response.cookies


def test_readyz_is_ready_with_a_queue_cluster_running(client, transactional_db):
    with running_cluster(workers=1):
        response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "cluster": "ok"}
    assert not response.cookies


def test_readyz_is_not_ready_when_no_cluster_was_ever_heard_of(client, no_cluster_heard_of):
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "ok", "cluster": "stale"}


def test_readyz_is_not_ready_once_the_cluster_is_silent_longer_than_the_setting(
    client, no_cluster_heard_of, settings
):
    settings.READYZ_CLUSTER_MAX_AGE_SECONDS = 1
    heard_of_a_cluster_now()
    assert client.get("/readyz").status_code == 200

    time.sleep(1.3)
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["cluster"] == "stale"


def test_a_cluster_that_stopped_cleanly_does_not_make_the_site_unready_at_once(
    client, no_cluster_heard_of
):
    # Two clusters of one queue: one stops, the other carries on reporting.
    heard_of_a_cluster_now()
    queue_presence.report_stopped(queue_presence.default_queue())

    assert client.get("/readyz").status_code == 200


def test_readyz_ignores_the_cluster_when_the_site_runs_without_one_on_purpose(
    client, no_cluster_heard_of, settings
):
    settings.READYZ_CLUSTER_MAX_AGE_SECONDS = 0

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "cluster": "off"}


def test_readyz_is_not_ready_when_the_broker_does_not_answer(client, db, monkeypatch):
    heard_of_a_cluster_now()
    # Nothing listens on port 1: as a Redis that is down, answered at once.
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "down", "cluster": "ok"}


def test_the_probes_answer_plain_http_on_any_host_in_production(client, db, settings):
    """A load balancer probes the process by its address, over HTTP."""
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["sync.shop.example"]
    settings.READYZ_CLUSTER_MAX_AGE_SECONDS = 0

    assert client.get("/login/", HTTP_HOST="sync.shop.example").status_code == 301
    for path in ("/healthz", "/readyz"):
        response = client.get(path, HTTP_HOST="10.0.0.7:8000")
        assert response.status_code == 200, path
        assert response["Cache-Control"] == "no-store"
        assert not response.cookies


def test_the_probes_take_only_get_and_head(client, db):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405
