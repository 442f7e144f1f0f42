"""DEBUG is off unless the environment turns it on: an operator who forgets it gets production
behaviour, and an API error body that says nothing of the code behind it."""

import json
import os
import secrets
import subprocess
import sys

from tests.queue_cluster import ROOT

# An API call on a database nobody migrated fails inside the server (no token table): what does
# the linked system get to read?
PROBE = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client
response = Client(raise_request_exception=False).get(
    "/api/v1/contacts/C1",
    HTTP_HOST="localhost",
    HTTP_X_FORWARDED_PROTO="https",
    HTTP_AUTHORIZATION="Bearer ssk_not-a-token",
)
print(json.dumps({"debug": settings.DEBUG, "status": response.status_code,
                  "body": response.content.decode()}))
"""


def probe(tmp_path, **env: str) -> dict:
    """Run PROBE with the project's settings, in an environment without DEBUG unless given."""
    ours = {"DEBUG", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY"}
    clean = {k: v for k, v in os.environ.items() if k not in ours}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "spotlersync.settings",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}",
            "REDIS_URL": "",
            "SECRET_KEY": secrets.token_urlsafe(50),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_debug_in_the_environment_debug_is_off_and_an_api_error_shows_no_traceback(
    tmp_path,
):
    answer = probe(tmp_path)

    assert answer["debug"] is False
    assert answer["status"] == 500
    for inside in ("Traceback", "OperationalError", "no such table", "contacts_apitoken", ".py"):
        assert inside not in answer["body"]


def test_debug_is_on_only_when_the_environment_asks_and_then_the_error_shows_its_traceback(
    tmp_path,
):
    answer = probe(tmp_path, DEBUG="True")

    assert answer["debug"] is True
    assert answer["status"] == 500
    assert "no such table" in answer["body"]  # what the test above makes sure nobody sees
