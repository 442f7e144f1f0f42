from zoneinfo import ZoneInfo

from mapping.models import CatalogueRefresh, MappingVersion, SpotlerProperty
from mapping.refusals import validate_rows
from mapping.rows import CatalogueEntry, broken_rows, row_from_json
from mapping.versions import (
    changes_what_spotler_receives,
    current_version,
    restore_version,
    save_version,
)

AMS = ZoneInfo("Europe/Amsterdam")
CATALOGUE = {
    "email": CatalogueEntry("email"),
    "firstName": CatalogueEntry("string"),
    "lastName": CatalogueEntry("string"),
    "birthday": CatalogueEntry("birthdate"),
    "loyaltyPoints": CatalogueEntry("int"),
    "permissions": CatalogueEntry("set", frozenset({1, 2, 3})),
    "firstPurchaseDate": CatalogueEntry("dateTime"),
    "lastPurchaseDate": CatalogueEntry("dateTime"),
}
EMAIL = {"source_fields": ["email"], "property": "email", "type": "email"}


def errors_of(rows, samples=None):
    found = validate_rows(rows, catalogue=CATALOGUE, samples=samples or {}, tz=AMS)
    return [e.message for e in found]


def test_the_default_mapping_is_valid_against_a_typical_account(db):
    assert errors_of(current_version().rows) == []


def test_one_property_mapped_twice_is_refused():
    rows = [EMAIL, {"source_fields": ["first_name"], "property": "firstName", "type": "string"},
            {"source_fields": ["nickname"], "property": "firstName", "type": "string"}]  # fmt: skip
    assert errors_of(rows) == ["firstName is already mapped in row 2"]


def test_the_same_permission_bit_twice_is_refused_but_two_bits_are_fine():
    def perm(field, bit):
        return {"source_fields": [field], "property": "permissions", "type": "set",
                "conversion": "permission", "options": {"bit": bit}}  # fmt: skip

    assert errors_of([EMAIL, perm("newsletter", 1), perm("promos", 2)]) == []
    assert errors_of([EMAIL, perm("newsletter", 1), perm("promos", 1)]) == [
        "permission bit 1 is already mapped in row 2"
    ]


def test_a_permission_bit_that_does_not_exist_is_refused_with_the_bits_that_do():
    rows = [EMAIL, {"source_fields": ["newsletter"], "property": "permissions", "type": "set",
                    "conversion": "permission", "options": {"bit": 9}}]  # fmt: skip
    assert errors_of(rows) == ["permission bit 9 does not exist in Spotler (bits: 1, 2, 3)"]


def test_a_type_that_cannot_take_the_real_source_values_is_refused():
    rows = [EMAIL, {"source_fields": ["points"], "property": "loyaltyPoints", "type": "int"}]
    samples = {"points": ["12", "many", "lots", "3"]}
    [message] = errors_of(rows, samples)
    assert message.startswith("2 of 4 recent values of points cannot become int loyaltyPoints")
    assert message.endswith("e.g. “many” is not a number")
    assert errors_of(rows, {"points": ["12", "40", "3", "7", "many"]}) == []


def test_a_property_spotler_does_not_have_and_a_missing_email_row_are_refused():
    rows = [{"source_fields": ["x"], "property": "shoeSize", "type": "int"}]
    assert errors_of(rows) == [
        "shoeSize does not exist in Spotler; refresh the properties?",
        "the e-mail row is missing; Spotler needs an e-mail",
    ]


def test_saving_keeps_every_version_with_author_and_a_readable_diff(admin_user):
    v1 = current_version()
    rows = [*v1.rows, {"source_fields": ["dob"], "property": "birthday", "type": "birthdate"}]
    v2 = save_version(rows=rows, author=admin_user)
    assert v2.number == 2
    assert v2.author == admin_user
    assert v2.diff == ["added dob → birthday"]
    changed = [dict(r) for r in v2.rows]
    changed[-1]["source_fields"] = ["birth_date"]
    v3 = save_version(rows=changed, author=admin_user)
    assert v3.diff == ["birth_date → birthday: source fields dob → birth_date"]


def test_restoring_an_old_version_saves_it_as_the_newest(admin_user):
    v1 = current_version()
    save_version(rows=[EMAIL], author=admin_user)
    restored = restore_version(number=1, author=admin_user)
    assert restored.number == 3
    assert restored.rows == v1.rows
    assert restored.restored_from == v1
    assert current_version() == restored
    assert MappingVersion.objects.count() == 3
    assert "added first_name ↔ firstName" in restored.diff


def test_reordering_rows_does_not_change_what_is_pushed_but_removing_one_does(db):
    rows = current_version().rows
    assert not changes_what_spotler_receives(rows, list(reversed(rows)))
    assert changes_what_spotler_receives(rows, rows[:-1])


def test_a_property_gone_or_retyped_in_spotler_marks_its_rows_broken():
    drifted = {**CATALOGUE, "loyaltyPoints": CatalogueEntry("string")}
    del drifted["birthday"]
    rows = [
        EMAIL,
        {"source_fields": ["points"], "property": "loyaltyPoints", "type": "int"},
        {"source_fields": ["dob"], "property": "birthday", "type": "birthdate"},
    ]
    assert broken_rows(rows, catalogue=drifted) == [
        "loyaltyPoints is now of type string in Spotler, the mapping expects int",
        "birthday no longer exists in Spotler",
    ]
    assert [row_from_json(r, catalogue=drifted).broken for r in rows] == [False, True, True]


def test_the_mapping_in_force_leaves_out_only_the_broken_rows(db, catalogue):
    from contacts.ingest import upsert_contact
    from contacts.models import Contact
    from mapping.current import mapping_in_force
    from mapping.render import render_contact
    from mapping.source import source_fields_of

    upsert_contact(external_id="C-9", raw_fields={"email": "a@example.nl", "first_name": "Ann",
                                                 "last_name": "Lee"})  # fmt: skip
    contact = Contact.objects.get(external_id="C-9")

    def sent() -> dict:
        fields = source_fields_of(contact)
        return render_contact(external_id="C-9", fields=fields, mapping=mapping_in_force()).payload

    assert sent()["properties"]["lastName"] == "Lee"
    SpotlerProperty.objects.filter(name="lastName").update(type="int")
    refresh_again = CatalogueRefresh.objects.create()  # a later refresh found the new type
    assert refresh_again.ok
    assert "lastName" not in sent()["properties"]
    assert sent()["properties"]["firstName"] == "Ann"
