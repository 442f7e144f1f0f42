"""Temporary lists: 30 in the account at once, each system deletes only its own, a list in use
stays (spotler-api.md §10 and the project's §0.3 decisions)."""

from datetime import datetime

from tests.spotler.sandbox_helpers import error_of


def create(api, list_id: str, *, name: str | None = None, contacts: list[str] | None = None):
    body = {"externalTemporaryListId": list_id, "name": name or f"List {list_id}"}
    if contacts is not None:
        body["contacts"] = contacts
    return api.post("templist", json=body)


def test_a_list_is_created_filled_listed_and_deleted(spotler_sandbox, api):
    api.upsert("c-1", email="anna@example.nl")
    api.upsert("c-2", email="pieter@example.nl")

    assert create(api, "tl-1", name="Event guests", contacts=["c-1"]).status_code == 204
    assert api.post("templist/tl-1", json={"contacts": ["c-2"]}).status_code == 204

    (listed,) = api.get("templist").json()
    assert (listed["externalTemporaryListId"], listed["name"], listed["type"]) == (
        "tl-1",
        "Event guests",
        "API",
    )
    assert spotler_sandbox.state()["templists"][0]["contacts"] == ["c-1", "c-2"]
    assert api.delete("templist/tl-1").status_code == 204
    assert api.get("templist").json() == []


def test_the_31st_list_in_the_account_is_refused(api):
    for n in range(30):
        assert create(api, f"tl-{n}").status_code == 204

    response = create(api, "tl-30")

    assert error_of(response) == (400, "INVALID_STATE", "Too many temporary lists")
    assert len(api.get("templist").json()) == 30


def test_the_list_budget_is_a_setting(spotler_sandbox, api):
    spotler_sandbox.set(templist_limit=2)
    create(api, "tl-1")
    create(api, "tl-2")

    assert error_of(create(api, "tl-3"))[2] == "Too many temporary lists"


def test_another_systems_lists_use_the_same_budget_and_are_listed_too(spotler_sandbox, api):
    spotler_sandbox.set(templist_limit=4)
    created = spotler_sandbox.control(
        "POST", "templists", {"consumer_key": "other-system", "count": 3}
    )["created"]
    create(api, "ours-1")

    assert error_of(create(api, "ours-2"))[2] == "Too many temporary lists"
    listed = {t["externalTemporaryListId"] for t in api.get("templist").json()}
    assert listed == {*created, "ours-1"}


def test_another_systems_list_cannot_be_added_to_or_deleted(other_api, api):
    api.upsert("c-1", email="anna@example.nl")
    create(other_api, "theirs")

    assert error_of(api.delete("templist/theirs"))[:2] == (404, "RESOURCE_NOT_FOUND")
    assert error_of(api.post("templist/theirs", json={"contacts": ["c-1"]}))[0] == 404
    assert other_api.delete("templist/theirs").status_code == 204


def test_a_list_in_use_cannot_be_deleted_until_it_is_free(spotler_sandbox, api):
    create(api, "tl-1")
    spotler_sandbox.control("POST", "templists/tl-1/in-use", {"in_use": True})

    assert error_of(api.delete("templist/tl-1")) == (400, "INVALID_STATE", "Temporary list in use")

    spotler_sandbox.control("POST", "templists/tl-1/in-use", {"in_use": False})
    assert api.delete("templist/tl-1").status_code == 204


def test_a_list_with_an_unknown_contact_is_not_created_at_all(api):
    api.upsert("c-1", email="anna@example.nl")

    response = create(api, "tl-1", contacts=["c-1", "nobody"])

    assert error_of(response) == (
        400,
        "INVALID_PARAMS",
        "No templist created, one or more contacts could not be found",
    )
    assert api.get("templist").json() == []


def test_adding_an_unknown_contact_adds_nothing(spotler_sandbox, api):
    api.upsert("c-1", email="anna@example.nl")
    create(api, "tl-1")

    response = api.post("templist/tl-1", json={"contacts": ["c-1", "nobody"]})

    assert error_of(response) == (400, "INVALID_PARAMS", "One or more contacts could not be found")
    assert spotler_sandbox.state()["templists"][0]["contacts"] == []


def test_a_list_id_or_name_already_in_the_account_is_refused(other_api, api):
    create(other_api, "tl-1", name="Guests")

    assert error_of(create(api, "tl-1", name="Other"))[:2] == (400, "ID_NOTUNIQUE")
    assert error_of(create(api, "tl-2", name="Guests"))[:2] == (400, "NAME_ALREADY_IN_USE")


def test_deleting_a_list_that_does_not_exist_is_404(api):
    assert error_of(api.delete("templist/nothing"))[:2] == (404, "RESOURCE_NOT_FOUND")


def test_created_at_is_iso_on_the_unversioned_path_and_epoch_on_1_1_0(api, api_v110):
    create(api, "tl-1")

    (current,) = api.get("templist").json()
    (older,) = api_v110.get("templist").json()

    assert datetime.fromisoformat(current["createdAt"]).utcoffset() is not None
    assert isinstance(older["createdAt"], int)
