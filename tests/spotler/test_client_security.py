"""Signing and secrecy: a tampered request is refused, and the consumer secret never shows
in a repr, an error or a log line (spotler-api.md §2.2)."""

import logging
import pickle

import pytest
import requests

from spotler import RetryPolicy, SpotlerError, client_from_settings
from tests.spotler.client_helpers import make_client


def send(prepared: requests.PreparedRequest) -> requests.Response:
    """Send a request as prepared, past the client: what a third party in between would do."""
    with requests.Session() as session:
        return session.send(prepared, timeout=5)


SEARCH = {"MPSearchQuery": "email=a@example.nl", "pageSize": 1}


def test_a_signed_query_altered_on_the_way_is_refused(spotler_sandbox):
    client = make_client(spotler_sandbox)
    assert send(client.prepare_request("GET", "contact/search", params=SEARCH)).status_code == 200

    tampered = client.prepare_request("GET", "contact/search", params=SEARCH)
    tampered.url = tampered.url.replace("a%40example.nl", "b%40example.nl")
    answer = send(tampered)

    assert answer.status_code == 401
    assert answer.json()["errorType"] == "NOT_AUTHORIZED"


def test_a_signed_request_sent_to_another_path_is_refused(spotler_sandbox):
    client = make_client(spotler_sandbox)
    moved = client.prepare_request("GET", "contact/properties/list")
    moved.url = moved.url.replace("contact/properties/list", "templist")

    assert send(moved).status_code == 401


def test_a_signed_request_sent_twice_is_refused_the_second_time(spotler_sandbox):
    client = make_client(spotler_sandbox)
    signed = client.prepare_request("GET", "contact/properties/list")

    assert send(signed).status_code == 200
    assert send(signed).status_code == 401


def test_the_client_repr_shows_no_secret(spotler_sandbox):
    client = make_client(spotler_sandbox)

    assert spotler_sandbox.consumer_secret not in repr(client)
    assert spotler_sandbox.consumer_secret not in str(client)
    assert "spotlersync-demo" in repr(client)


def raised(client, call) -> SpotlerError:
    with pytest.raises(SpotlerError) as caught:
        call(client)
    return caught.value


@pytest.mark.parametrize("fault", ["wrong key", "500", "timeout", "429"])
def test_no_error_or_log_line_shows_the_secret(spotler_sandbox, caplog, fault):
    secret = spotler_sandbox.consumer_secret
    options = {"retry": RetryPolicy(max_retries=1, base_delay=0.01), "timeout": (1.0, 0.5)}
    if fault == "wrong key":
        options["consumer_key"] = "nobody-we-know"
    elif fault == "500":
        spotler_sandbox.set(error_rate=1, error_statuses=[500])
    elif fault == "timeout":
        spotler_sandbox.set(hang_rate=1, hang_seconds=2)
    else:
        spotler_sandbox.control("POST", "burst429", json={"count": 5, "retry_after": 0})
    client = make_client(spotler_sandbox, **options)

    # settings quiet oauthlib's loggers; open them fully here, so a leak at DEBUG would show
    with (
        caplog.at_level(logging.DEBUG),
        caplog.at_level(logging.DEBUG, logger="oauthlib"),
        caplog.at_level(logging.DEBUG, logger="requests_oauthlib"),
    ):
        error = raised(client, lambda c: c.list_properties())

    shown = [str(error), repr(error), repr(error.args), repr(pickle.loads(pickle.dumps(error)))]  # noqa: S301
    if error.__cause__ is not None:
        shown += [str(error.__cause__), repr(error.__cause__)]
    assert not [text for text in shown if secret in text]
    # The signing itself is logged at DEBUG (oauthlib), so a leak there would show here.
    assert {"spotler.client", "oauthlib.oauth1.rfc5849"} <= {r.name for r in caplog.records}
    assert secret not in caplog.text
    assert not [r for r in caplog.records if secret in repr(r.args)]


def test_a_client_is_built_from_django_settings(spotler_sandbox, settings):
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    settings.SPOTLER_CONSUMER_KEY = spotler_sandbox.consumer_key
    settings.SPOTLER_CONSUMER_SECRET = spotler_sandbox.consumer_secret

    with client_from_settings(timeout=(1.0, 5.0)) as client:
        assert client.list_properties()
        assert client.timeout == (1.0, 5.0)
        assert spotler_sandbox.consumer_secret not in repr(client)
