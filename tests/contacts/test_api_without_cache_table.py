"""A database whose cache table is missing (it ran only part of the deploy steps, or dropped
Redis for the database cache) still takes every change: the ingest API reads tokens from the
database, and the log says what is wrong and what to run."""

import logging

import pytest
from django.conf import settings
from django.db import connection

from contacts.models import Contact
from spotlersync import cache_outage
from sync.models import OutboxEntry
from tests.conftest import transactional
from tests.contacts.conftest import anna

MISSING = "spotlersync_cache_missing"


@pytest.fixture
def no_cache_table(settings, monkeypatch):
    """The database cache configured, its table gone."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": MISSING}
    }
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {MISSING}")
    monkeypatch.setattr(cache_outage, "_last_warned", {})


@transactional
def test_without_the_cache_table_a_put_is_accepted_and_the_change_is_in_the_outbox(
    api, no_cache_table, caplog
):
    with caplog.at_level(logging.WARNING, logger="spotlersync.cache_outage"):
        response = api.put("contacts/C1", anna())

    assert response.status_code == 202, response.content
    assert Contact.objects.get(external_id="C1").email == "anna@example.com"
    assert OutboxEntry.objects.filter(contact__external_id="C1").exists()
    assert api.get("contacts/C1").status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "spotlersync.cache_outage"]
    assert lines, "the log says nothing about the missing table"
    assert all("cache table is missing" in line for line in lines), lines
    # createcachetable, not migrate: the migration that creates the table may have run already
    # (e.g. while the cache was Redis), and then migrate has nothing left to do.
    assert all("python manage.py createcachetable" in line for line in lines), lines


@transactional
def test_without_the_cache_table_the_log_says_so_once_per_kind_not_per_call(
    api, no_cache_table, caplog
):
    with caplog.at_level(logging.WARNING, logger="spotlersync.cache_outage"):
        for n in range(3):
            assert api.put(f"contacts/C{n}", anna()).status_code == 202

    lines = [r.getMessage() for r in caplog.records if r.name == "spotlersync.cache_outage"]
    assert len(lines) == len(set(lines)) <= 4, lines


@pytest.mark.skipif(bool(settings.REDIS_URL), reason="the Redis broker keeps its own statistics")
@transactional
def test_without_the_cache_table_home_says_what_to_run_not_that_the_broker_is_down(
    no_cache_table, client_as
):
    text = client_as("admin").get("/").content.decode()

    assert "Broker unreachable" not in text
    assert "running clusters cannot be seen" in text
    assert "python manage.py createcachetable" in text
