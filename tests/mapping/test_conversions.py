from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from mapping import conversions as c

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-02-29", "2024-02-29"),
        ("29-02-2024", "2024-02-29"),
        ("29/02/2024", "2024-02-29"),
        ("29.02.2024", "2024-02-29"),
        (date(2026, 11, 22), "2026-11-22"),
        # 23:30 UTC on 21 Nov is already 22 Nov in Amsterdam: the shop's calendar day counts
        ("2026-11-21T23:30:00+00:00", "2026-11-22"),
        ("2026-11-21T23:30:00Z", "2026-11-22"),
        (datetime(2026, 11, 21, 23, 30, tzinfo=ZoneInfo("UTC")), "2026-11-22"),
    ],
)
def test_dates_become_spotler_dates_in_the_shops_calendar(value, expected):
    assert c.to_date(value, tz=AMS) == expected


def test_a_day_that_is_not_in_the_calendar_is_refused_with_the_reason():
    with pytest.raises(c.ConversionError, match="not a day in the calendar"):
        c.to_date("2023-02-29", tz=AMS)
    with pytest.raises(c.ConversionError, match="not a day in the calendar"):
        c.to_date("31-04-2026", tz=AMS)


def test_month_first_sources_are_read_month_first_when_the_row_says_so():
    assert c.to_date("03/04/2026", tz=AMS) == "2026-04-03"
    assert c.to_date("03/04/2026", tz=AMS, month_first=True) == "2026-03-04"


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "", "12345"])
def test_text_that_is_no_date_is_refused(value):
    with pytest.raises(c.ConversionError):
        c.to_date(value, tz=AMS)


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-14:00",
        "9999-12-31T23:30:00Z",  # past the year 9999 in the shop's zone
        "0001-01-01T00:00:00+14:00",
        "31-12-3000",
        datetime(9999, 12, 31, 23, 30, tzinfo=ZoneInfo("UTC")),
    ],
)
def test_dates_outside_the_years_1900_to_2999_are_refused_not_overflowing(value):
    for convert in (c.to_date, c.to_datetime):
        with pytest.raises(c.ConversionError, match="must lie between 1900-01-01 and 2999-12-31"):
            convert(value, tz=AMS)


def test_datetimes_keep_their_offset_and_local_times_get_the_shops_zone():
    assert c.to_datetime("2026-07-01T10:00:00+02:00", tz=AMS) == "2026-07-01T10:00:00+02:00"
    assert c.to_datetime("2026-11-22T08:15:00Z", tz=AMS) == "2026-11-22T08:15:00+00:00"
    # no zone: the shop's local time, with summer and winter offsets right
    assert c.to_datetime("2026-07-01 10:00", tz=AMS) == "2026-07-01T10:00:00+02:00"
    assert c.to_datetime("2026-12-01T10:00", tz=AMS) == "2026-12-01T10:00:00+01:00"
    assert c.to_datetime("29-02-2024", tz=AMS) == "2024-02-29T00:00:00+01:00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), (1, True), (0, False), ("yes", True), ("Nee", False),
     ("TRUE", True), ("off", False), (" 1 ", True)],
)  # fmt: skip
def test_yes_no_values_in_many_spellings(value, expected):
    assert c.to_boolean(value) is expected


@pytest.mark.parametrize("value", ["maybe", 2, "10"])
def test_a_value_that_is_not_yes_or_no_is_refused(value):
    with pytest.raises(c.ConversionError, match="not a yes/no value"):
        c.to_boolean(value)


@pytest.mark.parametrize(
    ("value", "cents"),
    [(12.34, 1234), ("12,34", 1234), ("€ 1.234,50", 123450), ("1,234.50", 123450),
     (Decimal("0.1"), 10), (0, 0), ("-5", -500), (19.99, 1999)],
)  # fmt: skip
def test_amounts_become_cents(value, cents):
    assert c.to_money_cents(value) == cents


def test_amounts_with_fractions_of_cents_or_absurd_size_are_refused():
    with pytest.raises(c.ConversionError, match="more than two decimals"):
        c.to_money_cents("1.005")
    with pytest.raises(c.ConversionError, match="too large"):
        c.to_money_cents("1" + "0" * 30)
    with pytest.raises(c.ConversionError, match="not a number"):
        c.to_money_cents("NaN")


def test_whole_numbers_accept_numeric_text_and_refuse_fractions_and_huge_values():
    assert c.to_int("42") == 42
    assert c.to_int(7.0) == 7
    assert c.to_int(2**63 - 1) == 2**63 - 1
    with pytest.raises(c.ConversionError, match="too large"):
        c.to_int(2**63)
    with pytest.raises(c.ConversionError, match="not a whole number"):
        c.to_int("4.5")
    with pytest.raises(c.ConversionError, match="yes/no"):
        c.to_int(True)


def test_genders_in_several_languages_become_m_or_f():
    assert [c.to_gender(v) for v in ("m", "Male", "Dhr.", "vrouw", "F", "Mevr")] == [
        "M", "M", "M", "F", "F", "F",
    ]  # fmt: skip
    assert c.to_gender("heer", table={"heer": "M"}) == "M"
    with pytest.raises(c.ConversionError, match="not a gender"):
        c.to_gender("x-unknown")


def test_text_refuses_control_characters_and_overlong_values_but_keeps_markup_as_is():
    assert c.to_text("<b>Anna</b> & co") == "<b>Anna</b> & co"
    assert c.to_text("Zoë Ångström") == "Zoë Ångström"
    with pytest.raises(c.ConversionError, match="control characters"):
        c.to_text("Anna\x00")
    with pytest.raises(c.ConversionError, match="10,000 characters long"):
        c.to_text("a" * 10_000)


def test_emails_are_checked():
    assert c.to_email(" anna@example.nl ") == "anna@example.nl"
    for bad in ("anna", "anna@", "anna@example", "<a>@example.nl", "a b@example.nl"):
        with pytest.raises(c.ConversionError, match="not an e-mail address"):
            c.to_email(bad)


def test_languages_go_through_the_value_table_with_locale_spellings_forgiven():
    table = {"nl_NL": "Nederlands", "en-GB": "English"}
    assert c.to_language("nl-nl", table=table) == "Nederlands"
    assert c.to_language("EN_gb", table=table) == "English"
    assert c.to_language("fr_FR", table=table, default="English") == "English"
    with pytest.raises(c.ConversionError, match="no row in the language table"):
        c.to_language("fr_FR", table=table)


def test_store_levels_are_joined_as_the_integration_guide_suggests():
    assert c.join_levels(["Shop NL", "Dutch", None, ""]) == "Shop NL - Dutch"


def test_lists_and_objects_are_not_single_values():
    with pytest.raises(c.ConversionError, match="list or object"):
        c.to_text({"a": 1})
