"""`make run`: the demo's Spotler deduplicates on e-mail and its shop shares a few addresses, so
an Admin finds contacts held for review, and the duplicates report has households and people
who are customers twice."""

from django.core.management import call_command

from contacts.demo_shop import HOUSEHOLD_EVERY, SAME_PERSON_EVERY, Shop
from contacts.models import Contact, SyncStatus, TokenScope
from contacts.tokens import create_api_token
from identity.models import DedupeMode, SpotlerAccount
from sync.push import push_one_batch
from tests.conftest import transactional
from tests.helpers import sandbox_client


@transactional
def test_the_demo_holds_the_second_customer_of_each_shared_address_for_review(
    live_server, settings, spotler_sandbox, catalogue
):
    settings.DEBUG = True
    spotler_sandbox.set(rate_limit=0)
    spotler_client = sandbox_client(spotler_sandbox)
    call_command("demo_spotler_account", sandbox=spotler_sandbox.url)
    assert SpotlerAccount.current().dedupe_mode == DedupeMode.EMAIL
    assert spotler_sandbox.state()["settings"]["dedupe"] == "email"

    token = create_api_token(name="Demo shop", scope=TokenScope.WRITE).secret
    shop = Shop(api_url=f"{live_server.url}/api/v1", token=token)
    count = SAME_PERSON_EVERY  # one customer twice, and a household
    shop._send_batch([shop._new_customer(n) for n in range(1, count + 1)])
    while push_one_batch(client=spotler_client) is not None:  # the demo's live push
        pass

    shared = [*range(HOUSEHOLD_EVERY, count, HOUSEHOLD_EVERY), SAME_PERSON_EVERY]
    pairs = [{f"C{n - 1:06d}", f"C{n:06d}"} for n in shared]
    held = Contact.objects.filter(sync_status=SyncStatus.HELD)
    assert held.count() == len(pairs)
    for contact in held:  # one of each pair; the other went to Spotler first
        twin = contact.held_twin
        assert {contact.external_id, twin.external_id} in pairs
        assert twin.sync_status == SyncStatus.SYNCED
        assert twin.email.lower() == contact.email.lower()
    first, second = (shop.customers[f"C{SAME_PERSON_EVERY - i:06d}"] for i in (1, 0))
    assert (first["first_name"], first["last_name"]) == (second["first_name"], second["last_name"])
    assert second["email"] == first["email"].upper() != first["email"]
    # Spotler holds every other customer once, and none of the held ones.
    in_spotler = {c["externalId"] for c in spotler_sandbox.state()["contacts"]}
    assert len(in_spotler) == count - held.count()
    assert not in_spotler & set(held.values_list("external_id", flat=True))
