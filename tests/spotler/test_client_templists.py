"""Temporary lists against the sandbox: the 30-list budget, other systems' lists, lists in use
(spotler-api.md §10, §0.3)."""

import pytest

from spotler import Contact, SpotlerError
from tests.spotler.client_helpers import make_client


@pytest.fixture(params=[False, True], ids=["unversioned", "1.1.0"])
def client(request, spotler_sandbox):
    with make_client(spotler_sandbox, v110=request.param) as spotler_client:
        spotler_client.upsert_contacts(
            Contact(external_id=f"cust-{n}", properties={"email": f"c{n}@example.nl"})
            for n in range(3)
        )
        yield spotler_client


def test_a_temporary_list_is_created_filled_listed_and_deleted(client):
    client.create_temporary_list(list_id="tl-1", name="April buyers", contact_ids=["cust-0"])
    client.add_to_temporary_list(list_id="tl-1", contact_ids=["cust-1", "cust-2"])

    (listed,) = [t for t in client.list_temporary_lists() if t.external_id == "tl-1"]
    assert listed.name == "April buyers"
    assert listed.created_at is not None and listed.created_at.tzinfo is not None

    client.delete_temporary_list("tl-1")
    assert "tl-1" not in {t.external_id for t in client.list_temporary_lists()}


def test_a_list_with_an_unknown_contact_is_not_created_at_all(client):
    with pytest.raises(SpotlerError) as caught:
        client.create_temporary_list(list_id="tl-1", name="Nope", contact_ids=["cust-0", "nobody"])

    assert caught.value.status == 400 and caught.value.permanent
    assert "tl-1" not in {t.external_id for t in client.list_temporary_lists()}


def test_adding_an_unknown_contact_is_refused(client):
    client.create_temporary_list(list_id="tl-1", name="April buyers")

    with pytest.raises(SpotlerError) as caught:
        client.add_to_temporary_list(list_id="tl-1", contact_ids=["nobody"])

    assert caught.value.status == 400 and caught.value.permanent


def test_adding_to_an_unknown_list_is_a_404(client):
    with pytest.raises(SpotlerError) as caught:
        client.add_to_temporary_list(list_id="nope", contact_ids=["cust-0"])

    assert caught.value.status == 404 and caught.value.permanent


def test_creating_a_list_whose_id_is_taken_is_refused_on_the_first_try(client, spotler_sandbox):
    client.create_temporary_list(list_id="tl-1", name="April buyers")

    with pytest.raises(SpotlerError) as caught:
        client.create_temporary_list(list_id="tl-1", name="April buyers")

    assert caught.value.status == 400 and caught.value.attempts == 1


def test_the_list_beyond_the_budget_is_refused_with_spotlers_words(client, spotler_sandbox):
    spotler_sandbox.set(templist_limit=2)
    client.create_temporary_list(list_id="tl-1", name="One")
    client.create_temporary_list(list_id="tl-2", name="Two")

    with pytest.raises(SpotlerError) as caught:
        client.create_temporary_list(list_id="tl-3", name="Three")

    error = caught.value
    assert str(error) == "Spotler answered 400 INVALID_STATE: Too many temporary lists"
    assert error.permanent


def test_other_systems_lists_are_listed_but_cannot_be_deleted(client, spotler_sandbox):
    spotler_sandbox.control("POST", "templists", json={"consumer_key": "other-system", "count": 3})
    client.create_temporary_list(list_id="tl-ours", name="Ours")

    lists = client.list_temporary_lists()
    theirs = [t for t in lists if t.external_id != "tl-ours"]
    assert len(lists) == 4 and len(theirs) == 3

    with pytest.raises(SpotlerError) as caught:
        client.delete_temporary_list(theirs[0].external_id)
    assert caught.value.status == 404 and caught.value.error_type == "RESOURCE_NOT_FOUND"
    assert len(client.list_temporary_lists()) == 4


def test_a_list_in_use_cannot_be_deleted_and_is_not_retried(client, spotler_sandbox):
    client.create_temporary_list(list_id="tl-1", name="In a mailing")
    spotler_sandbox.control("POST", "templists/tl-1/in-use", json={"in_use": True})

    with pytest.raises(SpotlerError) as caught:
        client.delete_temporary_list("tl-1")

    assert caught.value.status == 400 and caught.value.permanent
    assert "in use" in caught.value.message.lower()
    assert caught.value.attempts == 1
    assert "tl-1" in {t.external_id for t in client.list_temporary_lists()}


def test_deleting_an_unknown_list_is_a_404(client):
    with pytest.raises(SpotlerError) as caught:
        client.delete_temporary_list("nope")

    assert caught.value.status == 404
