"""`make run`: the demo Account manager owns the follow-ups of the demo shop's customers."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection

from bounces.models import FollowUp
from bounces.owners import find_owner
from contacts.demo_shop import (
    ACCOUNT_MANAGERS,
    DEMO_LIST_NAME,
    DEMO_LIST_SIZE,
    DEMO_OTHER_LISTS,
    SEEDED_BOUNCES,
    Shop,
)
from contacts.ingest import upsert_contact
from contacts.models import TokenScope
from contacts.tokens import create_api_token
from lists.models import TempList
from sync.push import push_one_batch
from tests.bounces.helpers import ANNA, pull
from tests.conftest import ensure_roles, transactional


def test_the_demo_account_manager_is_one_of_the_demo_shops_account_managers(db, settings):
    if connection.vendor != "sqlite":
        pytest.skip("demo users exist only in the SQLite demo database")
    settings.DEBUG = True
    ensure_roles()
    call_command("create_demo_users")
    contact = upsert_contact(
        external_id="C-1", raw_fields={**ANNA, "account_manager": ACCOUNT_MANAGERS[0]}
    ).contact

    match = find_owner(contact)

    assert (match.owner.username, match.unmatched) == ("accountmanager", False)


@transactional
def test_a_newcomer_logging_in_as_the_demo_account_manager_finds_follow_ups_after_one_pull(
    live_server, client, settings, spotler_client, spotler_sandbox
):
    if connection.vendor != "sqlite":
        pytest.skip("demo users exist only in the SQLite demo database")
    settings.DEBUG = True
    ensure_roles()
    call_command("create_demo_users")
    token = create_api_token(name="Demo shop", scope=TokenScope.WRITE).secret
    shop = Shop(api_url=f"{live_server.url}/api/v1", token=token, sandbox_url=spotler_sandbox.url)
    shop.load(customers=40, report=lambda line: None)
    while push_one_batch(client=spotler_client) is not None:  # the demo's live push
        pass

    assert shop.seed_bounces(report=lambda line: None, wait_seconds=5) == SEEDED_BOUNCES + 1
    pull(spotler_client)  # the demo's scheduled bounce pull, every 2 minutes

    client.force_login(User.objects.get(username="accountmanager"))
    inbox = client.get("/bounces/").content.decode()
    hers = FollowUp.objects.filter(owner__username="accountmanager")
    assert hers.count() == SEEDED_BOUNCES
    assert all(f"/bounces/{f.pk}/" in inbox for f in hers)
    assert f'data-testid="nav-bounces-count">{SEEDED_BOUNCES}<' in inbox
    # The other account managers have no login: their customer's follow-up waits for an Admin.
    [other] = FollowUp.objects.exclude(owner__username="accountmanager")
    assert (other.owner, other.owner_unmatched) == (None, True)


def test_live_bounces_are_frequent_mostly_hard_and_often_the_demo_account_managers(
    spotler_sandbox,
):
    shop = Shop(api_url="http://unused", token="unused", sandbox_url=spotler_sandbox.url)
    for n, manager in enumerate(["Sanne Bakker", "Tom de Wit", "Lisa Müller", "", "Tom de Wit"]):
        external_id = f"C{n:06d}"
        shop.customers[external_id] = {"language": "nl_NL", "account_manager": manager}
        body = {"externalId": external_id, "properties": {"email": f"c{n}@example.nl"}}
        spotler_sandbox.control("POST", "contacts", json=body)

    lines = [shop._recipient_acts_in_spotler() for _ in range(200)]

    bounced = [line for line in lines if "bounced" in line]
    assert len(bounced) >= 60  # of 200 recipient acts: about 80
    assert sum("hardbounce" in line for line in bounced) > len(bounced) / 2
    assert sum(line.startswith("in Spotler: C000000 ") for line in bounced) > len(bounced) / 2


@transactional
def test_the_demo_marketer_finds_a_list_of_the_shops_german_customers_beside_the_crms(
    live_server, lists_sandbox
):
    token = create_api_token(name="Demo shop", scope=TokenScope.WRITE).secret
    shop = Shop(api_url=f"{live_server.url}/api/v1", token=token, sandbox_url=lists_sandbox.url)
    shop.load(customers=60, report=lambda line: None)
    lines: list[str] = []

    shop.seed_lists(report=lines.append)
    shop.seed_lists(report=lines.append)  # `make run` again: nothing more

    made = TempList.objects.get()
    german = [e for e, r in shop.customers.items() if r["language"].startswith("de")]
    assert made.name == DEMO_LIST_NAME and made.contact_ids
    assert set(made.contact_ids) <= set(german[:DEMO_LIST_SIZE])
    assert len(made.contact_ids) + sum(made.left_out.values()) == len(german[:DEMO_LIST_SIZE])
    theirs = [
        t for t in lists_sandbox.state()["templists"]
        if not t["externalTemporaryListId"].startswith("spotlersync-")
    ]  # fmt: skip
    assert len(theirs) == DEMO_OTHER_LISTS
    assert lines == [
        f"temporary list “{DEMO_LIST_NAME}” made of {len(german[:DEMO_LIST_SIZE])} customers"
    ]
