"""A follow-up's owner: the contact's account manager, matched to a user; else the fallback."""

import pytest

from bounces.owners import find_owner
from contacts.ingest import upsert_contact
from tests.bounces.helpers import ANNA, manager


def contact_managed_by(name, **extra):
    fields = {**ANNA, "account_manager": name, **extra}
    return upsert_contact(external_id="C-1", raw_fields=fields).contact


@pytest.mark.django_db
@pytest.mark.parametrize(
    "written_as",
    ["sanne", "SANNE", "sanne@shop.example", "Sanne@Shop.Example", "sanne  bakker", "Sanne Bakker"],
)
def test_the_account_manager_is_matched_by_username_email_or_full_name_in_any_case(written_as):
    sanne = manager("sanne", first_name="Sanne", last_name="Bakker", email="sanne@shop.example")
    manager("tom", first_name="Tom", last_name="de Wit")

    match = find_owner(contact_managed_by(written_as))

    assert (match.owner, match.unmatched, match.source) == (sanne, False, written_as.strip())


@pytest.mark.django_db
def test_an_admin_can_own_follow_ups_but_a_marketer_or_an_inactive_user_cannot():
    boss = manager("boss", role="Admin")
    manager("mark", role="Marketer")
    gone = manager("gone")
    gone.is_active = False
    gone.save()

    assert find_owner(contact_managed_by("boss")).owner == boss
    assert find_owner(contact_managed_by("mark")).unmatched
    assert find_owner(contact_managed_by("gone")).unmatched


@pytest.mark.django_db
def test_a_name_that_fits_two_people_is_left_for_an_admin_to_assign():
    manager("sanne1", first_name="Sanne", last_name="Bakker")
    manager("sanne2", first_name="Sanne", last_name="Bakker")

    match = find_owner(contact_managed_by("Sanne Bakker"))

    assert (match.owner, match.unmatched) == (None, True)


@pytest.mark.django_db
def test_unmatched_follow_ups_go_to_the_default_owner_flagged_or_stay_unassigned(settings):
    lead = manager("lead")
    assert (find_owner(contact_managed_by("Nobody Known")).owner, True) == (None, True)

    settings.BOUNCES_DEFAULT_OWNER = "LEAD"
    match = find_owner(contact_managed_by("Nobody Known"))

    assert (match.owner, match.unmatched, match.source) == (lead, True, "Nobody Known")


@pytest.mark.django_db
def test_the_owner_field_is_a_setting(settings):
    settings.BOUNCES_OWNER_FIELD = "sales_rep"
    tom = manager("tom")

    match = find_owner(contact_managed_by("sanne", sales_rep="tom"))

    assert match.owner == tom
