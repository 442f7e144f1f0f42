import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpRequest
from django.test import override_settings

from spotlersync.checks import check_production_secrets

ROOT = Path(__file__).resolve().parents[2]
RANDOM_KEY = secrets.token_urlsafe(50)


def ids(messages) -> set[str]:
    return {m.id for m in messages}


@override_settings(DEBUG=False)
def test_production_refuses_the_development_secret_key(settings):
    settings.SECRET_KEY = settings.DEV_SECRET_KEY
    assert "spotlersync.E001" in ids(check_production_secrets(None))


@override_settings(DEBUG=False, SECRET_KEY=RANDOM_KEY, SPOTLER_CONSUMER_SECRET="")
def test_production_refuses_missing_spotler_credentials():
    assert ids(check_production_secrets(None)) == {"spotlersync.E002"}


@override_settings(
    DEBUG=False,
    SECRET_KEY=RANDOM_KEY,
    SPOTLER_BASE_URL="https://restapi.mailplus.nl/integrationservice",
)
def test_production_refuses_the_sandbox_pair_against_the_real_spotler():
    assert ids(check_production_secrets(None)) == {"spotlersync.E003"}


@override_settings(
    DEBUG=False,
    SECRET_KEY=RANDOM_KEY,
    SPOTLER_BASE_URL="https://restapi.mailplus.nl/integrationservice",
    SPOTLER_CONSUMER_KEY="our-key",
    SPOTLER_CONSUMER_SECRET="our-secret",
)
def test_production_with_real_credentials_passes():
    assert check_production_secrets(None) == []


@override_settings(DEBUG=True)
def test_development_may_use_the_defaults(settings):
    settings.SECRET_KEY = settings.DEV_SECRET_KEY
    assert check_production_secrets(None) == []


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    ours = {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in ours}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_in_production_settings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="False",
        SECRET_KEY=RANDOM_KEY,
        ALLOWED_HOSTS="x",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_gunicorn_entry_point_refuses_to_load_with_the_dev_secret_key():
    clean = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "-c", "import spotlersync.wsgi"],
        cwd=ROOT,
        env={**clean, "DEBUG": "False", "ALLOWED_HOSTS": "x"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "spotlersync.E001" in result.stderr
    assert "spotlersync-demo-secret" not in result.stderr


def test_demo_users_are_never_created_outside_the_sqlite_demo(db, settings):
    # With DEBUG off the command refuses on any database (on PostgreSQL it refuses either way).
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only created in the SQLite demo database"):
        call_command("create_demo_users")


def test_demo_users_get_one_role_each_and_can_log_in(db, settings, client):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("demo users exist only in the SQLite demo database")
    settings.DEBUG = True
    call_command("create_demo_users")
    call_command("create_demo_users")  # running it again (every `make run`) changes nothing
    for username in ("marketer", "accountmanager", "admin"):
        # The login lockout (django-axes) needs the request a real login has.
        assert client.login(request=HttpRequest(), username=username, password="spotler-demo")
