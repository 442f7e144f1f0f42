"""Schemathesis fuzzes the ingest API from its own OpenAPI document: every call, valid and invalid
data, every check. The document must say what the server enforces, and the server must never
answer with an error (or a shape) the document does not declare.

Runs in-process against the WSGI application, in the test's database (SQLite or PostgreSQL),
with a write token, from a fixed seed so a failure reproduces.
"""

import os
from collections import defaultdict
from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.schemas import OpenApiSchema

from contacts.models import Contact, TokenScope
from tests.contacts.conftest import anna, make_token

# Examples per call and generation mode: about half a minute for the whole API on SQLite. Set
# API_FUZZ_EXAMPLES and API_FUZZ_SEED to fuzz longer or elsewhere.
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", 25))
SEED = int(os.environ.get("API_FUZZ_SEED", 20261202))
# The id in the document's examples: it exists, so reads, deletes and orders reach the ledger.
KNOWN_ID = "C1001"
# Schemathesis's own default for a valid request's answer.
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]


def fuzzing_config(token: str, *, checks: dict | None = None) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["all"],
            "auth": {"openapi": {"BearerToken": {"bearer": token}}},
            "generation": {"mode": "all", "max-examples": EXAMPLES, "database": "none"},
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
            },
            "checks": {
                "enabled": True,
                # A refusal is right for invalid data: 413 is a batch over the size limit.
                "negative_data_rejection": {
                    "expected-statuses": ["400", "401", "403", "404", "409", "413", "422"]
                },
                **(checks or {}),
            },
            "operations": [
                {
                    # A list's `expires_at` must lie in the future, which a JSON Schema cannot
                    # say: a past one, valid by the document, is refused with 422 there only.
                    "include-path": "/api/v1/lists",
                    "include-method": "POST",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": [*POSITIVE_STATUSES, "422"]
                        },
                        **(checks or {}),
                    },
                }
            ],
        }
    )


@pytest.fixture
def answers() -> Iterator[dict[str, set[int]]]:
    """The statuses each call answered; afterwards, proof that the fuzzing got past the token
    check and reached the ledger for every call (an answer from it: done, unknown or erased)."""
    seen: dict[str, set[int]] = defaultdict(set)
    yield seen
    for label, statuses in seen.items():
        assert any(200 <= status < 300 or status in (404, 409) for status in statuses), (
            label,
            statuses,
        )
    assert len(seen) == 12, sorted(seen)


@pytest.fixture
def api_schema(api, settings, spotler_sandbox) -> Iterator[OpenApiSchema]:
    yield from load_schema(api, settings, spotler_sandbox)


@pytest.fixture
def api_schema_for_sequences(api, settings, spotler_sandbox) -> Iterator[OpenApiSchema]:
    # A deleted contact's GET answers 200 with its tombstone (`erased_at`), by design (see the
    # GET's description), where `use_after_free` expects a 4xx; every other check stays on.
    yield from load_schema(
        api, settings, spotler_sandbox, checks={"use_after_free": {"enabled": False}}
    )


def load_schema(api, settings, sandbox, *, checks: dict | None = None) -> Iterator[OpenApiSchema]:
    settings.API_RATE_LIMIT = 0
    # Temporary lists are made in (and read from) the Spotler sandbox, over loopback.
    sandbox.set(rate_limit=0)
    settings.SPOTLER_BASE_URL = sandbox.base_url
    settings.SPOTLER_CONSUMER_KEY = sandbox.consumer_key
    settings.SPOTLER_CONSUMER_SECRET = sandbox.consumer_secret
    settings.SPOTLER_RATE_LIMIT = 0
    assert api.put(f"contacts/{KNOWN_ID}", anna()).status_code == 202
    # The lists' documented example names these: a list of them can be made (a list of nobody
    # is refused, 422, so the fuzzing would otherwise never make one).
    for external_id in ("C1001", "C1002"):
        assert api.put(f"contacts/{external_id}", anna(newsletter=True)).status_code == 202
    token = make_token(TokenScope.WRITE, name="Schemathesis")
    # Like Django's test client: calls run inside the test's transaction, which a request's
    # end must not close.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi(
            "/api/v1/openapi.json",
            get_wsgi_application(),
            config=fuzzing_config(token, checks=checks),
            headers={"Authorization": f"Bearer {token}"},
        )
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_the_api_behaves_as_its_openapi_document_says(case, answers):
    response = case.call_and_validate()
    if case.method.upper() == case.operation.method.upper():  # not an unsupported-method probe
        answers[case.operation.label].add(response.status_code)


def test_sequences_of_calls_behave_as_the_document_says(api_schema_for_sequences):
    """Schemathesis's stateful phase: a PUT's contact then read, deleted, inactivated, ordered."""

    class Sequences(api_schema_for_sequences.as_state_machine()):
        def setup(self) -> None:
            # Each sequence starts from an empty ledger, so a replayed one behaves the same.
            Contact.objects.all().delete()

    run_state_machine_as_test(
        Sequences,
        settings=hypothesis_settings(
            max_examples=EXAMPLES,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
