"""Naming the value Spotler refused: its "Property is invalid" does not say which one."""

from mapping.rows import CatalogueEntry
from sync.refused_values import refused_values

CATALOGUE = {
    "postalCode": CatalogueEntry("postcode", frozenset()),
    "birthday": CatalogueEntry("birthdate", frozenset()),
    "loyaltyPoints": CatalogueEntry("int", frozenset()),
    "firstName": CatalogueEntry("string", frozenset()),
}


def test_the_value_that_breaks_its_propertys_type_is_named_with_the_shop_field_it_came_from():
    found = refused_values(
        {"postalCode": "ZZZ-not-a-postcode", "firstName": "Anna", "birthday": "1980-02-03"},
        catalogue=CATALOGUE,
        sources={"postalCode": "postcode"},
    )
    assert found == [
        "postalCode (from the shop's postcode) “ZZZ-not-a-postcode” is not a Dutch postcode "
        "such as 1234 AB"
    ]


def test_values_that_fit_or_clear_a_property_are_not_blamed_and_nothing_is_guessed():
    ok = {"postalCode": "3511 AB", "birthday": "", "loyaltyPoints": 12, "firstName": None}
    assert refused_values(ok, catalogue=CATALOGUE) == []
    assert refused_values({"postalCode": "x"}, catalogue=None) == []


def test_a_property_the_account_does_not_have_is_named():
    assert refused_values({"shoeSize": "42"}, catalogue=CATALOGUE) == [
        "shoeSize: the Spotler account has no such property"
    ]
