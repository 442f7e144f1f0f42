"""Log lines: one JSON object a line with LOG_FORMAT=json, carrying the run and the contact's
external id, and never an e-mail address; human-readable lines by default."""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from contacts.ingest import upsert_contact
from spotlersync.logs import ContextFilter, JsonFormatter, PlainFormatter, log_context
from sync.push import push_one_batch

ROOT = Path(__file__).resolve().parents[2]
ANNA = {"email": "anna@example.nl", "first_name": "Anna", "last_name": "de Vries"}


@pytest.fixture
def json_lines():
    """Every record logged meanwhile (DEBUG and up), through the JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    quiet = {name: logging.getLogger(name).level for name in ("spotler", "django.db.backends")}
    logging.getLogger("spotler").setLevel(logging.DEBUG)
    logging.getLogger("django.db.backends").setLevel(logging.WARNING)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


@pytest.mark.django_db
def test_a_push_logs_json_lines_with_its_run_and_contact_and_no_email_address(
    spotler_sandbox, catalogue, json_lines
):
    from tests.helpers import sandbox_client

    spotler_sandbox.set(rate_limit=0)
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    run = push_one_batch(client=sandbox_client(spotler_sandbox))
    logging.getLogger("sync.test").warning("Spotler refused %s", "anna@example.nl")

    output = json_lines.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert lines, "the push logged nothing at DEBUG"
    calls = [line for line in lines if line["logger"] == "spotler.client"]
    assert calls, lines
    assert all((c["run_id"], c["contact_id"]) == (run.pk, "C-1") for c in calls), calls
    assert {"time", "level", "logger", "message"} <= set(calls[0])
    assert lines[-1]["message"] == "Spotler refused <e-mail>"
    assert "run_id" not in lines[-1]  # outside the run, no run is named
    assert "anna@example.nl" not in output and "Vries" not in output


def test_context_is_set_only_inside_and_plain_lines_name_it_too():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent to bo@shop.nl", None, None)
    with log_context(run=7, contact="C-9"):
        ContextFilter().filter(record)
    line = PlainFormatter().format(record)
    assert line.endswith("INFO x: sent to <e-mail> [run 7 contact C-9]")
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "idle", None, None)
    ContextFilter().filter(outside)
    assert json.loads(JsonFormatter().format(outside)).keys() == {
        "time", "level", "logger", "message"
    }  # fmt: skip


def log_from_django(**env: str) -> str:
    code = (
        "import django, logging\n"
        "django.setup()\n"
        "logging.getLogger('sync.push').warning('failed for %s', 'anna@example.nl')\n"
        "logging.getLogger('django-q').info('cluster up')\n"
        "try:\n"
        "    1 / 0\n"
        "except ZeroDivisionError:\n"
        "    logging.getLogger('sync.runs').exception('run 3 broke')\n"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **env}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_with_log_format_json_every_line_of_the_process_is_one_json_object():
    output = log_from_django(LOG_FORMAT="json")
    lines = [json.loads(line) for line in output.splitlines()]
    assert [(line["logger"], line["level"]) for line in lines] == [
        ("sync.push", "WARNING"), ("django-q", "INFO"), ("sync.runs", "ERROR")
    ]  # fmt: skip
    assert lines[0]["message"] == "failed for <e-mail>"
    assert "ZeroDivisionError" in lines[2]["exception"]


def test_by_default_log_lines_are_for_people():
    output = log_from_django()
    first = output.splitlines()[0]
    assert first.endswith("WARNING sync.push: failed for <e-mail>")
    assert not first.startswith("{")
