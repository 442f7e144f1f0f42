"""The control surface under /_sandbox/: plays Spotler's side, reads state, and says clearly
what is wrong with a bad call."""

import pytest
import requests

from spotler.sandbox.handle import SandboxControlError
from tests.spotler.sandbox_helpers import SignedApi, bits


def raw(sandbox, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{sandbox.url}/_sandbox/{path}", timeout=10, **kwargs)


def test_a_body_that_is_not_json_is_a_400_saying_what_is_wrong(spotler_sandbox):
    response = raw(spotler_sandbox, "POST", "settings", data=b"{rate_limit: 0")

    assert response.status_code == 400
    assert response.json()["message"].startswith("Request body is not valid JSON")


def test_a_body_that_is_not_an_object_is_a_400(spotler_sandbox):
    response = raw(spotler_sandbox, "POST", "settings", json=[1, 2])

    assert response.status_code == 400
    assert "must be a JSON object" in response.json()["message"]


def test_an_unknown_control_path_is_a_404_in_json(spotler_sandbox):
    response = raw(spotler_sandbox, "GET", "nothing-here")

    assert response.status_code == 404
    assert "Unknown control path GET /_sandbox/nothing-here" in response.json()["message"]


def test_a_wrong_method_on_a_control_path_is_a_405(spotler_sandbox):
    assert raw(spotler_sandbox, "DELETE", "settings").status_code == 405


def test_the_control_index_lists_every_control_call(spotler_sandbox):
    listed = spotler_sandbox.control("GET", "")["control"]

    assert "POST /_sandbox/contacts/{ref}/unsubscribe" in listed
    assert "GET /_sandbox/requests" in listed


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"rate_limt": 5}, "unknown setting(s): rate_limt"),
        ({"dedupe": "phone"}, "dedupe must be one of externalId, email"),
        ({"error_rate": 1.5}, "error_rate must be between 0 and 1"),
        ({"error_statuses": [404]}, "error_statuses must be a non-empty list of 5xx codes"),
        ({"templist_limit": "thirty"}, "templist_limit must be a whole number"),
        ({"latency_ms": -1}, "latency_ms must be between 0"),
    ],
)
def test_a_bad_setting_is_refused_naming_it_and_nothing_changes(spotler_sandbox, change, complaint):
    with pytest.raises(SandboxControlError) as refused:
        spotler_sandbox.set(rate_limit=0, **change)

    assert refused.value.status == 400
    assert complaint in refused.value.body["message"]
    assert spotler_sandbox.control("GET", "settings")["rate_limit"] == 10


def test_settings_read_back_as_they_were_set(spotler_sandbox):
    answered = spotler_sandbox.set(dedupe="email", error_statuses=[502], hang_seconds=1.5)

    assert answered == spotler_sandbox.control("GET", "settings")
    assert (answered["dedupe"], answered["error_statuses"], answered["hang_seconds"]) == (
        "email",
        [502],
        1.5,
    )


def test_state_shows_contacts_lists_bounces_settings_and_counts(spotler_sandbox, api):
    api.upsert("c-1", email="anna@example.nl")
    api.post("templist", json={"externalTemporaryListId": "tl-1", "name": "Guests"})
    spotler_sandbox.control("POST", "contacts/c-1/bounce", {"type": "SOFTBOUNCE"})

    state = spotler_sandbox.state()

    assert [c["externalId"] for c in state["contacts"]] == ["c-1"]
    assert state["templists"][0]["owner"] == spotler_sandbox.consumer_key
    assert state["bounces"][0]["type"] == "SOFTBOUNCE"
    assert state["settings"]["rate_limit"] == 0
    assert state["counts"]["contacts"] == 1 and state["counts"]["requests"] == 2
    assert state["consumer_keys"] == ["other-system", "spotlersync-demo"]


def test_a_stored_contact_shows_its_blacklisted_and_anonymized_flags(spotler_sandbox, api):
    api.upsert("c-1", email="anna@example.nl")

    stored = spotler_sandbox.contact("c-1")

    assert (stored["blacklisted"], stored["anonymized"]) == (False, False)
    assert spotler_sandbox.control("GET", "contacts")["contacts"] == [stored]


def test_a_contact_added_in_spotler_itself_is_readable_through_the_api(spotler_sandbox, api):
    spotler_sandbox.control(
        "POST", "contacts", {"externalId": "ui-1", "properties": {"email": "ui@example.nl"}}
    )

    assert api.get("contact/ui-1").json()["properties"]["email"] == "ui@example.nl"


def test_a_recipient_can_switch_a_permission_back_on(spotler_sandbox, api):
    api.upsert("c-1", permissions=[{"bit": 1, "enabled": True}])
    spotler_sandbox.control("POST", "contacts/c-1/unsubscribe", {"bit": 1})

    answered = spotler_sandbox.control("POST", "contacts/c-1/subscribe", {"bit": 1})

    assert bits(answered)[1] is True
    assert bits(api.get("contact/c-1").json())[1] is True


def test_many_recipients_can_edit_at_once_and_a_bad_edit_changes_nothing(spotler_sandbox, api):
    api.upsert("c-1", email="anna@example.nl", firstName="Anna")
    api.upsert("c-2", email="bram@example.nl", firstName="Bram")

    with pytest.raises(SandboxControlError) as refused:
        spotler_sandbox.control("POST", "contacts/edits", {"edits": [
            {"externalId": "c-1", "properties": {"firstName": "Ann"}},
            {"externalId": "c-3", "properties": {"firstName": "Nobody"}},
        ]})  # fmt: skip
    assert "c-3" in refused.value.body["message"]
    assert api.get("contact/c-1").json()["properties"]["firstName"] == "Anna"

    answered = spotler_sandbox.control("POST", "contacts/edits", {"edits": [
        {"externalId": "c-1", "properties": {"firstName": "Ann"}},
        {"externalId": "c-2", "properties": {"permissions": [{"bit": 1, "enabled": False}]}},
    ]})  # fmt: skip
    assert answered == {"edited": 2}
    assert api.get("contact/c-1").json()["properties"]["firstName"] == "Ann"
    assert bits(api.get("contact/c-2").json())[1] is False


def test_an_unknown_permission_bit_is_refused_listing_the_known_ones(spotler_sandbox, api):
    api.upsert("c-1", email="anna@example.nl")

    with pytest.raises(SandboxControlError) as refused:
        spotler_sandbox.control("POST", "contacts/c-1/unsubscribe", {"bit": 7})

    assert "bit must be one of 1, 2, 3" in refused.value.body["message"]


def test_a_profile_edit_with_an_invalid_value_is_refused_in_spotlers_words(spotler_sandbox, api):
    api.upsert("c-1", email="anna@example.nl")

    with pytest.raises(SandboxControlError) as refused:
        spotler_sandbox.control("POST", "contacts/c-1/edit", {"properties": {"email": "x"}})

    assert refused.value.body == {"errorType": "INVALID_PARAMS", "message": "Email is invalid"}


def test_a_bounce_of_an_unknown_type_or_contact_is_refused(spotler_sandbox, api):
    api.upsert("c-1", email="anna@example.nl")

    with pytest.raises(SandboxControlError) as wrong_type:
        spotler_sandbox.control("POST", "contacts/c-1/bounce", {"type": "BLOCKED"})
    with pytest.raises(SandboxControlError) as unknown:
        spotler_sandbox.control("POST", "contacts/nobody/bounce", {"type": "HARDBOUNCE"})

    assert wrong_type.value.status == 400 and unknown.value.status == 404


def test_another_system_cannot_create_lists_beyond_the_budget(spotler_sandbox):
    spotler_sandbox.set(templist_limit=2)

    with pytest.raises(SandboxControlError) as refused:
        spotler_sandbox.control("POST", "templists", {"consumer_key": "other-system", "count": 3})

    assert refused.value.body["message"] == "Too many temporary lists"
    assert spotler_sandbox.state()["templists"] == []


def test_marking_an_unknown_list_in_use_is_404(spotler_sandbox):
    with pytest.raises(SandboxControlError) as refused:
        spotler_sandbox.control("POST", "templists/nothing/in-use", {"in_use": True})

    assert refused.value.status == 404


def test_a_credential_added_through_control_can_sign_requests(spotler_sandbox):
    spotler_sandbox.control(
        "POST", "credentials", {"consumer_key": "crm", "consumer_secret": "crm-secret"}
    )

    api = SignedApi(spotler_sandbox.base_url, "crm", "crm-secret")

    assert api.get("contact/properties/list").status_code == 200


def test_the_demo_contacts_are_seeded_into_an_empty_sandbox_only(spotler_sandbox, api):
    assert spotler_sandbox.control("POST", "seed-demo")["seeded"] == 6
    assert spotler_sandbox.control("POST", "seed-demo")["seeded"] == 0

    contact = api.get("contact/C-1001").json()
    assert contact["properties"]["firstName"] == "Anna"


def test_the_root_url_points_at_both_base_urls_and_the_control_surface(spotler_sandbox):
    welcome = requests.get(spotler_sandbox.url, timeout=10).json()

    assert welcome["base_urls"] == [spotler_sandbox.base_url, spotler_sandbox.base_url_v110]
    assert welcome["control"] == f"{spotler_sandbox.url}/_sandbox/"


def test_scripts_still_get_the_json_list_of_control_calls_and_browsers_the_page(spotler_sandbox):
    import requests

    listed = requests.get(f"{spotler_sandbox.url}/_sandbox/", timeout=5)
    assert listed.headers["Content-Type"] == "application/json"
    assert listed.json()["page"].startswith("/_sandbox/page")
    browser = requests.get(
        f"{spotler_sandbox.url}/_sandbox/", headers={"Accept": "text/html,*/*"}, timeout=5,
        allow_redirects=False,
    )  # fmt: skip
    assert (browser.status_code, browser.headers["Location"]) == (303, "/_sandbox/page")


def test_the_control_page_refuses_a_form_posted_from_another_sites_page(spotler_sandbox):
    import requests

    spotler_sandbox.control("POST", "seed-demo")
    refused = requests.post(
        f"{spotler_sandbox.url}/_sandbox/page/unsubscribe",
        data={"ref": "C-1001", "bit": "1"},
        headers={"Origin": "https://evil.example"},
        timeout=5,
        allow_redirects=False,
    )
    assert refused.status_code == 403
    entries = spotler_sandbox.contact("C-1001")["properties"]["permissions"]
    assert next(e["enabled"] for e in entries if e["bit"] == 1) is True
