"""`make run`: the demo Account manager owns the follow-ups of the demo shop's customers."""

import pytest
from django.core.management import call_command
from django.db import connection

from bounces.owners import find_owner
from contacts.demo_shop import ACCOUNT_MANAGERS
from contacts.ingest import upsert_contact
from tests.bounces.helpers import ANNA
from tests.conftest import ensure_roles


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
