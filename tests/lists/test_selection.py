"""Making a selection: by purchase dates and account manager, from an uploaded file of ids;
who is left out and why (Spotler's unsubscribes too), and the groups that can be included."""

from datetime import datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, SyncStatus
from lists.id_file import IdFileProblem, read_id_file
from lists.models import TempList
from lists.selection import SelectionFilters, SelectionProblem, select_contacts, select_ids
from mapping.current import mapping_in_force
from sync.models import SpotlerConsent
from tests.lists.helpers import contacts_in_spotler, ledger_has

pytestmark = pytest.mark.django_db


def at(day: str) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(f"{day}T12:00"))


def test_purchase_dates_select_whole_days_and_account_manager_narrows():
    ledger_has([f"P-{n}" for n in range(5)])
    for n, (first, last, manager) in enumerate(
        [
            ("2024-01-01", "2024-06-30", "Sanne"),
            ("2024-03-15", "2024-12-31", "Sanne"),
            ("2024-03-16", "2025-01-01", "Ruud"),
            ("2023-12-31", "2024-06-30", "Ruud"),
        ]
    ):
        Contact.objects.filter(external_id=f"P-{n}").update(
            first_purchase_at=at(first), last_purchase_at=at(last), account_manager=manager
        )
    # P-4 never bought anything: no date range selects it.

    def chosen(**filters) -> list[str]:
        return sorted(select_contacts(SelectionFilters(**filters)).ids)

    assert chosen(first_purchase_from="2024-01-01", first_purchase_to="2024-03-15") == [
        "P-0",
        "P-1",
    ]
    assert chosen(last_purchase_to="2024-06-30") == ["P-0", "P-3"]
    assert chosen(last_purchase_from="2024-12-31") == ["P-1", "P-2"]
    assert chosen(account_manager="Ruud") == ["P-2", "P-3"]
    assert chosen(account_manager="Ruud", first_purchase_from="2024-01-01") == ["P-2"]
    assert len(chosen()) == 5


def test_a_date_that_is_not_one_or_a_backwards_range_says_what_to_fix():
    with pytest.raises(SelectionProblem, match="“31-12-2024” is not a date; write it as YYYY-MM"):
        select_contacts(SelectionFilters(first_purchase_from="31-12-2024"))
    with pytest.raises(SelectionProblem, match="Last purchase from is after last purchase to"):
        select_contacts(
            SelectionFilters(last_purchase_from="2025-01-02", last_purchase_to="2025-01-01")
        )


def test_a_source_field_is_compared_without_case_or_spaces_and_empty_means_missing_too():
    ledger_has(["F-1"], segment=" Gold ")
    ledger_has(["F-2"], segment="silver-gold")
    ledger_has(["F-3"], segment="")
    ledger_has(["F-4"])

    def chosen(operator, value="") -> list[str]:
        filters = SelectionFilters(source_field="segment", operator=operator, value=value)
        return sorted(select_contacts(filters).ids)

    assert chosen("equals", "gold") == ["F-1"]
    assert chosen("contains", "GOLD") == ["F-1", "F-2"]
    assert chosen("empty") == ["F-3", "F-4"]


def test_who_is_left_out_is_counted_by_reason_and_contacts_not_in_spotler_are_pushed_first():
    ledger_has(["OK-1", "OK-2", "OFF-1", "GONE-1", "NEW-1", "BROKEN-1"])
    Contact.objects.filter(external_id="OFF-1").update(fields={"newsletter": False})
    Contact.objects.filter(external_id="GONE-1").update(inactivated_at=timezone.now())
    Contact.objects.filter(external_id="NEW-1").update(synced_at=None, sync_status="pending")
    Contact.objects.filter(external_id="BROKEN-1").update(synced_at=None, sync_status="failed")

    selection = select_contacts(SelectionFilters())
    assert sorted(selection.ids) == ["NEW-1", "OK-1", "OK-2"]
    assert (selection.size, selection.not_in_spotler) == (3, 1)
    assert selection.left_out_lines() == [
        ("inactive", 1),
        ("all permissions off", 1),
        ("could not be pushed to Spotler", 1),
    ]
    included = select_contacts(SelectionFilters(include=("inactive", "permissions_off")))
    assert sorted(included.ids) == ["GONE-1", "NEW-1", "OFF-1", "OK-1", "OK-2"]
    assert included.left_out_lines() == [("could not be pushed to Spotler", 1)]


def test_a_contact_who_unsubscribed_in_spotler_is_left_out_until_the_shop_consents_again():
    assert mapping_in_force().permission_sources, "the demo mapping sends a permission"
    (bit, field_name), *_ = mapping_in_force().permission_sources
    ledger_has(["U-1", "U-2", "U-3"])
    shop_changed = timezone.now() - timedelta(days=10)
    Contact.objects.update(field_changed_at={field_name: shop_changed.isoformat()})
    for external_id, off_at in [("U-1", timedelta(days=1)), ("U-2", timedelta(days=20))]:
        SpotlerConsent.objects.create(
            contact=Contact.objects.get(external_id=external_id),
            bit=bit,
            enabled=False,
            changed_at=timezone.now() - off_at,
        )
    # U-1 unsubscribed in Spotler after the shop's yes; U-2's shop yes came after its
    # unsubscribe (a new consent); U-3 never unsubscribed.
    selection = select_contacts(SelectionFilters())
    assert sorted(selection.ids) == ["U-2", "U-3"]
    assert selection.left_out["permissions_off"] == 1
    assert sorted(selection.sample) == ["U-2", "U-3"]

    named, unknown = select_ids(["U-1", "U-2", "NOBODY"])
    assert (named.ids, named.left_out["permissions_off"], unknown) == (["U-2"], 1, ["NOBODY"])


def upload(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_a_file_of_ids_reads_a_header_csv_columns_and_repeats_once():
    assert read_id_file(upload("ids.csv", "external_id;name\nC-1;Ann\nC-2;Bo\n\nC-1;Ann\n")) == [
        "C-1",
        "C-2",
    ]
    assert read_id_file(upload("ids.txt", "C-9\r\nC-8\r\n")) == ["C-9", "C-8"]


def test_a_file_with_bad_lines_says_which_and_how_an_id_is_written():
    with pytest.raises(IdFileProblem) as refused:
        read_id_file(upload("ids.txt", "C-1\nnot an id\nC-2\n<script>\n"))
    words = str(refused.value)
    assert "2 lines of “ids.txt” hold no external id" in words
    assert "line 2: “not an id”" in words and "line 4: “<script>”" in words
    with pytest.raises(IdFileProblem, match="holds no external ids"):
        read_id_file(upload("empty.csv", "external_id\n\n"))
    with pytest.raises(IdFileProblem, match="not a UTF-8 text or CSV file"):
        read_id_file(SimpleUploadedFile("ids.xlsx", b"\xff\xfe\x00PK\x03"))


def test_a_marketer_uploads_a_file_previews_it_and_sends_it_as_a_list(
    lists_sandbox, client_as, django_capture_on_commit_callbacks
):
    ids = contacts_in_spotler(lists_sandbox, 3)
    browser = client_as("marketer")

    sent = browser.post(
        reverse("lists:list-upload"),
        {"ids_file": upload("guests.csv", "external_id\nC-2\nC-0\nNOBODY-7\n")},
    )
    assert sent.url == f"{reverse('lists:list-new')}?from=file"
    preview = browser.get(sent.url).content.decode()
    assert "<strong>guests.csv</strong>: 3 external ids" in preview
    assert "<strong>2</strong> contacts would be sent" in preview
    assert "1 id of the file is not in the ledger and left out: NOBODY-7" in preview

    with django_capture_on_commit_callbacks(execute=True):
        made = browser.post(reverse("lists:list-new"), {"from": "file", "name": "Guests"})
    found = TempList.objects.get(name="Guests")
    assert made.url == reverse("lists:list-detail", args=[found.pk])
    assert (found.contact_ids, found.named_ids) == (["C-2", "C-0"], ["C-2", "C-0", "NOBODY-7"])
    assert found.unknown_ids == ["NOBODY-7"]
    assert set(found.contact_ids) == {ids[0], ids[2]}
    # The file is used once: the page is back to filters.
    assert "guests.csv" not in browser.get(reverse("lists:list-new")).content.decode()


def test_a_bad_file_is_refused_on_the_page_with_what_to_fix(client_as):
    browser = client_as("marketer")
    answer = browser.post(
        reverse("lists:list-upload"), {"ids_file": upload("x.csv", "C-1\nno way\n")}, follow=True
    )
    assert "1 line of “x.csv” holds no external id (line 2: “no way”)" in answer.content.decode()
    assert not TempList.objects.exists()


def test_a_bad_filter_is_shown_on_the_page_and_nothing_can_be_sent(client_as):
    ledger_has(["C-1"])
    page = client_as("marketer").get(
        reverse("lists:list-new"), {"first_purchase_from": "yesterday"}
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "“yesterday” is not a date; write it as YYYY-MM-DD." in text
    assert "<strong>0</strong> contacts would be sent" in text


def test_an_empty_selection_is_not_sent(client_as, lists_sandbox):
    ledger_has(["C-1"], language="nl")
    answer = client_as("marketer").post(
        reverse("lists:list-new"), {"language": "fr", "name": "Nobody"}, follow=True
    )
    assert "The selection is empty: there is nobody to send." in answer.content.decode()
    assert not TempList.objects.exists()
    assert Contact.objects.get().sync_status == SyncStatus.SYNCED


def test_a_year_out_of_range_is_a_problem_not_a_crash(client_as):
    ledger_has(["C-1"])
    browser = client_as("marketer")
    for day in ("0001-01-01", "9999-12-31"):
        page = browser.get(reverse("lists:list-new"), {"first_purchase_to": day})
        assert page.status_code == 200
        assert f"First purchase to: {day} is out of range; the year must be from 1900 to 2999." in (
            page.content.decode()
        )


@pytest.mark.parametrize(
    "expires_on, words",
    [
        ("2020-01-01", "The end date 2020-01-01 has passed; choose a day from today on."),
        ("9999-12-31", "The end date must be before the year 3000."),
        ("31-12-2030", "“31-12-2030” is not a date; write the end date as YYYY-MM-DD."),
    ],
)
def test_an_end_date_that_cannot_be_is_refused_and_kept_in_the_form(
    client_as, lists_sandbox, expires_on, words
):
    contacts_in_spotler(lists_sandbox, 1)
    answer = client_as("marketer").post(
        reverse("lists:list-new"), {"name": "Ends", "expires_on": expires_on}, follow=True
    )
    text = answer.content.decode()
    assert words in text
    assert f'name="expires_on" value="{expires_on}"' in text
    assert not TempList.objects.exists()


def test_a_name_differing_only_in_case_is_taken_and_a_list_says_what_it_was_made_from(
    client_as, lists_sandbox, django_capture_on_commit_callbacks
):
    contacts_in_spotler(lists_sandbox, 2, language="de")
    Contact.objects.filter(external_id="C-1").update(inactivated_at=timezone.now())
    browser = client_as("marketer")
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(
            reverse("lists:list-new"),
            {"name": "German spring", "language": "de", "include": "inactive"},
        )
    made = TempList.objects.get()
    page = browser.get(reverse("lists:list-detail", args=[made.pk])).content.decode()
    assert "language de; including inactive contacts on purpose" in page
    assert 'data-testid="list-delete"' in page

    again = browser.post(
        reverse("lists:list-new"), {"name": "german SPRING", "language": "de"}, follow=True
    )
    assert "A temporary list named “german SPRING” exists already" in again.content.decode()
    assert TempList.objects.count() == 1
