"""What the report predicts is what Spotler does: the sandbox, deduplicating by e-mail address
or by external id, gets a shared address's contacts in the report's order."""

import pytest

import spotler
from contacts.models import Contact
from identity.duplicates import DuplicateFilters, DuplicateGroup, read_duplicates
from identity.models import DedupeMode
from tests.helpers import sandbox_client
from tests.identity.helpers import add, set_mode


@pytest.fixture
def client(db, spotler_sandbox) -> spotler.SpotlerClient:
    spotler_sandbox.set(rate_limit=0)
    return sandbox_client(spotler_sandbox)


def the_group() -> DuplicateGroup:
    [group] = read_duplicates(filters=DuplicateFilters()).groups
    return group


def send(client: spotler.SpotlerClient, contacts: list[Contact]) -> None:
    """Insert or update, as the push sends a contact."""
    for contact in contacts:
        client.upsert_contact(
            spotler.Contact(external_id=contact.external_id, properties={"email": contact.email})
        )


def holding(sandbox, address: str) -> list[dict]:
    contacts = sandbox.state()["contacts"]
    return [c for c in contacts if c["properties"]["email"].lower() == address]


def shared_address() -> None:
    add("C-1", "anna@example.nl", day=0, first_name="Anna")
    add("C-3", "ANNA@example.nl", day=2, first_name="Anna")
    add("C-2", "Anna@Example.nl", day=1, first_name="Anna")


def test_by_email_spotler_keeps_the_first_contact_under_the_last_external_id_as_predicted(
    spotler_sandbox, client
):
    spotler_sandbox.set(dedupe="email")
    set_mode(DedupeMode.EMAIL)
    shared_address()
    group = the_group()
    send(client, group.members[:1])
    [first] = holding(spotler_sandbox, "anna@example.nl")
    assert first["externalId"] == "C-1" and first["encryptedId"]
    send(client, group.members[1:])
    assert group.verdict(DedupeMode.EMAIL) == (
        "Spotler keeps one contact: C-2 and C-3 merge into C-1's contact and rewrite its "
        "external id, which ends up as C-3."
    )
    [kept] = holding(spotler_sandbox, "anna@example.nl")
    assert kept["externalId"] == "C-3"
    assert kept["encryptedId"] == first["encryptedId"]  # C-1's contact, rewritten
    assert client.get_contact("C-1") is None
    assert client.get_contact("C-2") is None


def test_by_external_id_spotler_keeps_each_contact_as_predicted(spotler_sandbox, client):
    shared_address()
    group = the_group()
    send(client, group.members)
    assert group.verdict(DedupeMode.EXTERNAL_ID) == (
        "Spotler keeps 3 contacts; each gets the same mailing."
    )
    kept = holding(spotler_sandbox, "anna@example.nl")
    assert sorted(c["externalId"] for c in kept) == ["C-1", "C-2", "C-3"]
