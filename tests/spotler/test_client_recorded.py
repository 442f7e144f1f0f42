"""The client against recorded Spotler answers: the 1.1.0 shapes and odd error bodies.

A tiny loopback HTTP server replays the JSON files of `tests/fixtures/spotler/`, so the real
client still signs, sends and reads real HTTP.
"""

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from spotler import (
    BatchCode,
    BounceType,
    Contact,
    Inactivation,
    RetryPolicy,
    SpotlerClient,
    SpotlerError,
)
from spotler.parsing import parse_timestamp
from spotler.retry import parse_retry_after

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "spotler"
BASE_PATH = "/integrationservice-1.1.0"
SINCE = datetime(2024, 4, 1, tzinfo=UTC)
UNTIL = SINCE + timedelta(hours=2)


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class RecordedSpotler:
    """Answers `METHOD path` with recorded responses, in order, the last one repeating."""

    def __init__(self) -> None:
        self.routes: dict[str, list[dict]] = {}
        self.received: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self.server.server_port}{BASE_PATH}"

    def answer(self, route: str, *responses: dict) -> None:
        self.routes[route] = list(responses)

    def calls(self, route: str) -> list[dict]:
        return [r for r in self.received if r["route"] == route]

    def _respond(self, route: str) -> dict:
        queue = self.routes.get(route)
        if not queue:
            return {"status": 404, "body": {"errorType": "RESOURCE_NOT_FOUND", "message": route}}
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def _handler(self):
        spotler = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                url = urlsplit(self.path)
                route = f"{self.command} {url.path.removeprefix(BASE_PATH + '/')}"
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                spotler.received.append(
                    {
                        "route": route,
                        "query": parse_qs(url.query),
                        "headers": dict(self.headers),
                        "body": json.loads(raw) if raw else None,
                    }
                )
                response = spotler._respond(route)
                if "body" in response:
                    payload = json.dumps(response["body"]).encode()
                else:
                    payload = response.get("text", "").encode()
                headers = response.get("headers") or {"Content-Type": "application/json"}
                self.send_response(response["status"])
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args) -> None:
                pass

        return Handler


NO_CONTENT = {"status": 204, "text": ""}


@pytest.fixture
def spotler_v110() -> Iterator[RecordedSpotler]:
    spotler = RecordedSpotler()
    thread = threading.Thread(target=spotler.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield spotler
    spotler.server.shutdown()
    spotler.server.server_close()


@pytest.fixture
def client(spotler_v110) -> Iterator[SpotlerClient]:
    with SpotlerClient(
        base_url=spotler_v110.base_url,
        consumer_key="spotlersync-demo",
        consumer_secret="spotlersync-demo-secret",
        retry=RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.05),
    ) as spotler_client:
        yield spotler_client


def test_updated_contacts_on_1_1_0_are_read_from_a_bare_array_with_epoch_milliseconds(
    spotler_v110, client
):
    spotler_v110.answer("GET contact/updates/list", recorded("updates_list_v110"))

    pages = list(client.iter_updated_contact_pages(since=SINCE, until=UNTIL))

    assert len(pages) == 1 and pages[0].after is None
    anna, bram = pages[0].items
    assert anna.external_id == "cust-1001"
    assert anna.encrypted_id == "Ab12Cd34"
    assert anna.created == datetime(2022, 3, 7, 9, 40, tzinfo=UTC)
    assert anna.last_changed == datetime(2024, 4, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert anna.permissions == {1: False, 2: True}
    assert anna.channels == {"EMAIL": True, "SMS": False}
    assert anna.properties == {"email": "anna@example.nl", "firstName": "Anna"}
    assert anna.test_group is False and anna.temporary is False
    assert bram.test_group is True and bram.permissions == {}
    assert len(spotler_v110.calls("GET contact/updates/list")) == 1


def test_the_window_is_sent_as_iso_8601_with_offset_and_signed(spotler_v110, client):
    spotler_v110.answer("GET contact/updates/list", recorded("updates_list_v110"))
    amsterdam = datetime(2024, 4, 1, 14, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Amsterdam"))

    list(client.iter_updated_contacts(since=amsterdam, until=amsterdam + timedelta(hours=1)))

    (call,) = spotler_v110.calls("GET contact/updates/list")
    assert call["query"]["fromDate"] == ["2024-04-01T16:00:00+02:00"]
    assert call["query"]["toDate"] == ["2024-04-01T17:00:00+02:00"]
    assert call["query"]["pageSize"] == ["100"]
    assert call["headers"]["Authorization"].startswith("OAuth ")
    assert 'oauth_consumer_key="spotlersync-demo"' in call["headers"]["Authorization"]
    assert "oauth_token" not in call["headers"]["Authorization"]
    assert call["headers"]["Accept"] == "application/json"
    assert "Content-Type" not in call["headers"]


def test_a_window_without_a_time_zone_is_refused_before_anything_is_sent(spotler_v110, client):
    with pytest.raises(ValueError, match="time zone"):
        naive = datetime(2024, 4, 1)  # noqa: DTZ001 - the mistake under test
        list(client.iter_bounces(since=naive, until=naive + timedelta(hours=2)))

    assert spotler_v110.received == []


def test_bounces_on_1_1_0_accept_epoch_seconds_and_millisecond_strings(spotler_v110, client):
    spotler_v110.answer("GET contact/bounces/list", recorded("bounces_list_v110"))

    hard, soft = client.iter_bounces(since=SINCE, until=UNTIL)

    assert hard.type == BounceType.HARD and hard.hard
    assert hard.date == datetime(2024, 4, 1, 10, 0, tzinfo=UTC)
    assert hard.encrypted_act_id == "Mx99Zz"
    assert hard.contact.external_id == "cust-1001"
    assert hard.contact.email == "anna@example.nl"
    assert soft.type == BounceType.SOFT and not soft.hard
    assert soft.date == datetime(2024, 4, 1, 11, 0, tzinfo=UTC)


def test_paging_stops_when_the_cursor_does_not_move(spotler_v110, client):
    spotler_v110.answer("GET contact/updates/list", recorded("updates_list_paged_stuck"))

    pages = list(client.iter_updated_contact_pages(since=SINCE, until=UNTIL))

    assert len(pages) == 2
    calls = spotler_v110.calls("GET contact/updates/list")
    assert "after" not in calls[0]["query"]
    assert calls[1]["query"]["after"] == ["7"]
    first = pages[0].items[0]
    assert first.created == datetime(2022, 3, 7, 8, 0, tzinfo=UTC)
    assert first.last_changed == datetime(2024, 4, 1, 12, 0, tzinfo=UTC)
    assert first.permissions == {1: True}


def test_properties_come_with_their_set_entries(spotler_v110, client):
    spotler_v110.answer("GET contact/properties/list", recorded("properties_list"))

    properties = {p.name: p for p in client.list_properties()}

    assert properties["email"].type == "email"
    assert properties["lastPurchaseDate"].description == "Laatste aankoop"
    permissions = properties["permissions"]
    assert permissions.type == "set"
    assert permissions.bits == [1, 2, 4]
    assert permissions.entries[2].description == "Enquêtes"
    assert permissions.entries[2].rank == 3


def test_temporary_lists_on_1_1_0_read_epoch_dates_and_lists_made_elsewhere(spotler_v110, client):
    spotler_v110.answer("GET templist", recorded("templist_v110"))

    ours, imported = client.list_temporary_lists()

    assert ours.external_id == "sync-2024-04"
    assert ours.created_at == datetime(2024, 4, 1, 10, 0, tzinfo=UTC)
    assert ours.type == "API"
    assert imported.external_id is None and imported.type == "IMPORT"


def test_batch_results_keep_spotlers_code_and_message_for_each_contact(spotler_v110, client):
    spotler_v110.answer("POST contact/list", recorded("contact_list_results"))
    contacts = [
        Contact(external_id=f"cust-{n}", properties={"email": f"c{n}@example.nl"})
        for n in (1, 2, 3)
    ]

    ok, invalid, unknown = client.upsert_contacts(contacts)

    assert ok.ok and ok.code == BatchCode.OK
    assert not invalid.ok
    assert invalid.code == BatchCode.PROPERTY_INVALID and invalid.message == "Email is invalid"
    assert unknown.code == "SOMETHING_NEW" and not unknown.ok
    (call,) = spotler_v110.calls("POST contact/list")
    assert call["headers"]["Content-Type"] == "application/json"
    assert call["body"]["update"] is True and call["body"]["purge"] is False
    assert call["body"]["contacts"][0] == {
        "externalId": "cust-1",
        "properties": {"email": "c1@example.nl"},
    }


def test_a_batch_refused_without_an_error_model_shows_spotlers_text(spotler_v110, client):
    spotler_v110.answer("POST contact/list", recorded("contact_list_400_no_model"))

    with pytest.raises(SpotlerError) as caught:
        client.upsert_contacts([Contact(external_id="cust-1")])

    error = caught.value
    assert str(error) == "Spotler answered 400: Too many contacts provided (max is 100)"
    assert error.status == 400 and error.error_type is None and error.permanent
    assert len(spotler_v110.calls("POST contact/list")) == 1


def test_an_xml_error_body_is_read_like_a_json_one(spotler_v110, client):
    spotler_v110.answer("POST contact", recorded("error_400_xml"))

    with pytest.raises(SpotlerError) as caught:
        client.upsert_contact(Contact(external_id="cust-1", properties={"email": "nope"}))

    assert str(caught.value) == (
        "Spotler answered 400 INVALID_PARAMS: Email is invalid & cannot be saved"
    )
    assert caught.value.permanent


def test_an_html_page_from_a_proxy_is_a_transient_error_named_by_its_title(spotler_v110, client):
    spotler_v110.answer("GET templist", recorded("error_502_html"))

    with pytest.raises(SpotlerError) as caught:
        client.list_temporary_lists()

    error = caught.value
    assert str(error) == "Spotler answered 502: an HTML page: 502 Bad Gateway"
    assert not error.permanent and error.attempts == 3
    assert len(spotler_v110.calls("GET templist")) == 3


def test_an_empty_error_body_still_explains_itself(spotler_v110, client):
    spotler_v110.answer("DELETE templist/gone", {"status": 404, "text": ""})

    with pytest.raises(SpotlerError) as caught:
        client.delete_temporary_list("gone")

    assert str(caught.value) == "Spotler answered 404: no explanation (empty body, Not Found)"


def test_a_missing_contact_is_none(spotler_v110, client):
    spotler_v110.answer("GET contact/nobody", recorded("contact_not_found"))

    assert client.get_contact("nobody") is None


def test_a_404_that_is_not_contact_not_found_raises_instead_of_meaning_no_contact(
    spotler_v110, client
):
    spotler_v110.answer("GET contact/cust-1", recorded("error_502_html") | {"status": 404})

    with pytest.raises(SpotlerError) as caught:
        client.get_contact("cust-1")

    assert caught.value.status == 404 and caught.value.permanent


@pytest.mark.parametrize("missing", ["inactivate_405", "inactivate_404_unknown_path"])
def test_inactivate_falls_back_to_switching_every_permission_off(spotler_v110, client, missing):
    spotler_v110.answer("PUT contact/inactivate/cust-1", recorded(missing))
    spotler_v110.answer("GET contact/properties/list", recorded("properties_list"))
    spotler_v110.answer("PUT contact/cust-1", NO_CONTENT)

    assert client.inactivate_contact("cust-1") == Inactivation.PERMISSIONS_OFF

    (update,) = spotler_v110.calls("PUT contact/cust-1")
    assert update["body"] == {
        "purge": False,
        "contact": {
            "externalId": "cust-1",
            "properties": {
                "permissions": [
                    {"bit": 1, "enabled": False},
                    {"bit": 2, "enabled": False},
                    {"bit": 4, "enabled": False},
                ]
            },
        },
    }


def test_inactivate_of_an_unknown_contact_raises_without_a_fallback(spotler_v110, client):
    spotler_v110.answer("PUT contact/inactivate/nobody", recorded("contact_not_found"))

    with pytest.raises(SpotlerError) as caught:
        client.inactivate_contact("nobody")

    assert caught.value.error_type == "CONTACT_NOT_FOUND"
    assert spotler_v110.calls("PUT contact/nobody") == []


def test_inactivate_uses_the_given_bits_without_reading_properties(spotler_v110, client):
    spotler_v110.answer("PUT contact/inactivate/cust-1", recorded("inactivate_405"))
    spotler_v110.answer("PUT contact/cust-1", NO_CONTENT)

    assert client.inactivate_contact("cust-1", permission_bits=[8]) == "permissions_off"

    assert spotler_v110.calls("GET contact/properties/list") == []
    (update,) = spotler_v110.calls("PUT contact/cust-1")
    assert update["body"]["contact"]["properties"]["permissions"] == [{"bit": 8, "enabled": False}]


def test_a_2xx_answer_that_is_not_json_is_a_permanent_error(spotler_v110, client):
    spotler_v110.answer(
        "GET contact/properties/list",
        {"status": 200, "headers": {"Content-Type": "text/html"}, "text": "<html>login</html>"},
    )

    with pytest.raises(SpotlerError) as caught:
        client.list_properties()

    assert caught.value.status == 200 and caught.value.permanent
    assert "cannot read" in str(caught.value)


def test_a_redirect_is_not_followed_and_points_at_the_base_url(spotler_v110, client):
    spotler_v110.answer(
        "GET templist",
        {"status": 301, "headers": {"Location": "https://example.test/x"}, "text": ""},
    )

    with pytest.raises(SpotlerError) as caught:
        client.list_temporary_lists()

    assert "redirect to https://example.test/x" in str(caught.value)
    assert caught.value.permanent


ALREADY_EXISTS = {
    "status": 400,
    "body": {"errorType": "INVALID_PARAMS", "message": "externalTemporaryListId already exists"},
}
UNAVAILABLE = {"status": 503, "body": {"errorType": "BACKEND_EXCEPTION", "message": "Try later"}}
APRIL_LIST = {
    "status": 200,
    "body": [{"externalTemporaryListId": "tl-1", "name": "April", "createdAt": 1711965600000}],
}


def test_a_templist_create_whose_retry_hears_already_exists_is_a_success(spotler_v110, client):
    spotler_v110.answer("POST templist", UNAVAILABLE, ALREADY_EXISTS)
    spotler_v110.answer("GET templist", APRIL_LIST)

    client.create_temporary_list(list_id="tl-1", name="April", contact_ids=["cust-1"])

    assert len(spotler_v110.calls("POST templist")) == 2
    assert spotler_v110.calls("POST templist")[0]["body"] == {
        "externalTemporaryListId": "tl-1",
        "name": "April",
        "contacts": ["cust-1"],
    }


def test_already_exists_after_a_retry_raises_when_the_list_is_not_the_one_asked_for(
    spotler_v110, client
):
    spotler_v110.answer("POST templist", UNAVAILABLE, ALREADY_EXISTS)
    spotler_v110.answer("GET templist", APRIL_LIST)

    with pytest.raises(SpotlerError) as caught:
        client.create_temporary_list(list_id="tl-1", name="May")

    assert caught.value.status == 400 and caught.value.attempts == 2


def test_already_exists_on_the_first_try_raises(spotler_v110, client):
    spotler_v110.answer("POST templist", ALREADY_EXISTS)
    spotler_v110.answer("GET templist", APRIL_LIST)

    with pytest.raises(SpotlerError):
        client.create_temporary_list(list_id="tl-1", name="April")

    assert spotler_v110.calls("GET templist") == []


def test_a_templist_delete_whose_retry_hears_not_found_is_a_success(spotler_v110, client):
    spotler_v110.answer("DELETE templist/tl-1", UNAVAILABLE, {"status": 404, "text": ""})

    client.delete_temporary_list("tl-1")

    assert len(spotler_v110.calls("DELETE templist/tl-1")) == 2


def test_a_retry_after_given_as_an_http_date_is_honoured(spotler_v110, client):
    in_a_second = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    spotler_v110.answer(
        "GET templist",
        {"status": 429, "headers": {"Retry-After": in_a_second}, "body": {"errorType": "X"}},
        {"status": 200, "body": []},
    )

    started = time.monotonic()
    assert client.list_temporary_lists() == []

    assert time.monotonic() - started >= 0.9
    assert len(spotler_v110.calls("GET templist")) == 2


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    now = datetime(2024, 4, 1, 12, 0, tzinfo=UTC)

    assert parse_retry_after("7", now=now) == 7
    assert parse_retry_after("1.5", now=now) == 1.5
    assert parse_retry_after("Mon, 01 Apr 2024 12:00:30 GMT", now=now) == 30
    assert parse_retry_after("Mon, 01 Apr 2024 11:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1711965600, datetime(2024, 4, 1, 10, 0, tzinfo=UTC)),
        (1711965600000, datetime(2024, 4, 1, 10, 0, tzinfo=UTC)),
        ("1711965600000", datetime(2024, 4, 1, 10, 0, tzinfo=UTC)),
        ("2024-04-01T12:00:00+02:00", datetime(2024, 4, 1, 10, 0, tzinfo=UTC)),
        ("2024-04-01T10:00:00Z", datetime(2024, 4, 1, 10, 0, tzinfo=UTC)),
        ("2024-04-01T10:00:00", datetime(2024, 4, 1, 10, 0, tzinfo=UTC)),
        (None, None),
    ],
)
def test_timestamps_are_read_from_epoch_numbers_by_magnitude_or_from_iso(value, expected):
    parsed = parse_timestamp(value)

    assert parsed == expected
    assert parsed is None or parsed.tzinfo is not None


def test_no_retry_starts_after_the_time_budget_is_spent(spotler_v110):
    spotler_v110.answer("GET templist", UNAVAILABLE)
    patient = RetryPolicy(max_retries=50, base_delay=0.2, max_delay=0.2, max_elapsed=0.5)
    client = SpotlerClient(
        base_url=spotler_v110.base_url, consumer_key="k", consumer_secret="s", retry=patient
    )

    started = time.monotonic()
    with pytest.raises(SpotlerError) as caught:
        client.list_temporary_lists()

    assert caught.value.status == 503 and caught.value.attempts <= 3
    assert time.monotonic() - started < 1.0


def test_each_retry_is_signed_afresh_with_a_new_nonce(spotler_v110, client):
    spotler_v110.answer("GET templist", UNAVAILABLE, {"status": 200, "body": []})

    client.list_temporary_lists()

    first, second = (
        call["headers"]["Authorization"] for call in spotler_v110.calls("GET templist")
    )
    nonce = re.compile(r'oauth_nonce="([^"]+)"')
    assert nonce.search(first).group(1) != nonce.search(second).group(1)
