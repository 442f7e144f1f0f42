"""`manage.py migrate` alone leaves a working installation: it creates the database cache's table
(the ingest API reads its tokens through the cache), as `createcachetable` would."""

import importlib
import os
import sqlite3
import subprocess
import sys

from django.apps import apps
from django.conf import settings
from django.db import connection

from tests.conftest import transactional
from tests.queue_cluster import ROOT

CACHE_TABLE = "spotlersync_cache"


def test_a_fresh_database_that_ran_only_migrate_has_the_cache_table(tmp_path):
    database = tmp_path / "fresh.sqlite3"
    ours = {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in ours}
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input"],
        cwd=ROOT,
        env={**env, "DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    with sqlite3.connect(database) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    assert CACHE_TABLE in tables


@transactional
def test_the_migration_creates_the_table_of_every_database_cache_configured(settings):
    settings.CACHES = {
        **settings.CACHES,
        "extra": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "spotlersync_cache_extra",
        },
    }
    migration = importlib.import_module("spotlersync.migrations.0003_create_cache_tables")
    try:
        with connection.schema_editor() as schema_editor:
            migration.create_cache_tables(apps, schema_editor)
        assert "spotlersync_cache_extra" in connection.introspection.table_names()
        if not settings.REDIS_URL:
            assert CACHE_TABLE in connection.introspection.table_names()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS spotlersync_cache_extra")


def test_the_settings_use_the_table_the_migration_creates():
    if not settings.REDIS_URL:
        assert settings.CACHES["default"]["LOCATION"] == CACHE_TABLE
