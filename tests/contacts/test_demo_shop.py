"""The demo shop loads and edits customers through the real ingest API over HTTP."""

import itertools

from django.core.management import call_command

from contacts.demo_shop import Shop
from contacts.models import Contact, Order, TokenScope
from contacts.tokens import create_api_token
from sync.models import OutboxEntry
from tests.conftest import transactional


@transactional
def test_the_demo_shop_loads_varied_customers_with_orders_and_a_second_load_changes_nothing(
    live_server, settings
):
    settings.DEBUG = True
    call_command("demo_shop", url=live_server.url, customers=60)
    contacts = Contact.objects.all()
    assert contacts.count() == 60
    assert len(set(contacts.values_list("language", flat=True))) >= 3
    assert len(set(contacts.values_list("account_manager", flat=True))) >= 3
    consents = {(c.fields["newsletter"], c.fields["promotions"]) for c in contacts}
    assert len(consents) >= 3
    assert Order.objects.exists()
    buyer = Contact.objects.filter(first_purchase_at__isnull=False).first()
    assert buyer.first_purchase_at <= buyer.last_purchase_at

    queued = OutboxEntry.objects.count()
    call_command("demo_shop", url=live_server.url, customers=60)
    assert Contact.objects.count() == 60
    assert OutboxEntry.objects.count() == queued


@transactional
def test_live_mode_keeps_changing_the_ledger(live_server):
    token = create_api_token(name="demo", scope=TokenScope.WRITE).secret
    shop = Shop(api_url=f"{live_server.url}/api/v1", token=token)
    shop.load(customers=20, report=lambda line: None)
    before = OutboxEntry.objects.count()
    lines = list(itertools.islice(shop.run_live(per_second=100, report=print), 15))
    assert len(lines) == 15
    assert OutboxEntry.objects.count() > before


def test_in_live_mode_the_demo_also_plays_recipients_who_act_in_spotler(spotler_sandbox):
    shop = Shop(api_url="http://unused", token="unused", sandbox_url=spotler_sandbox.url)
    shop.customers = {"C000001": {"language": "nl_NL"}}
    spotler_sandbox.control(
        "POST", "contacts", json={"externalId": "C000001", "properties": {"email": "a@example.nl"}}
    )
    lines = [shop._recipient_acts_in_spotler() for _ in range(20)]
    assert all(line.startswith("in Spotler: C000001") for line in lines)
    held = spotler_sandbox.contact("C000001")
    # The shop's seeded dice make all three happen within 20 acts.
    assert any("unsubscribed" in line for line in lines)
    assert any("moved to" in line for line in lines)
    assert any("bounced" in line for line in lines)
    assert {p["bit"]: p["enabled"] for p in held["properties"]["permissions"]}[1] is False
    bounces = spotler_sandbox.state()["bounces"]
    assert bounces
