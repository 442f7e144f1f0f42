"""A value the mapping in force cannot read as yes or no, for a consent -> permission or yes/no
row, is refused at the door (PUT, batch, CSV import), never turned into another value."""

import pytest

from contacts.models import Contact, CsvImportStatus
from mapping.defaults import DEFAULT_ROWS
from mapping.versions import save_version
from sync.models import OutboxEntry
from tests.contacts.conftest import anna
from tests.contacts.helpers import run, upload_and_map

SPELLINGS = (
    "(yes: true, 1, yes, y, on, ja, j, oui, si, sí, x; no: false, 0, no, n, off, nee, non, "
    "nein, -)."
)


def refusal(value: str) -> str:
    return f"“{value}” is not a yes/no value {SPELLINGS}"


@pytest.mark.parametrize("value", ["maybe", "AAA", "2", 2, "yes please"])
def test_a_consent_value_that_means_nothing_is_refused_naming_the_field_and_the_spellings(
    api, value
):
    response = api.put("contacts/C1", anna(newsletter=value))

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "invalid_fields"
    assert body["fields"] == {"newsletter": refusal(str(value))}
    assert "`newsletter`" in body["detail"]
    assert not Contact.objects.exists()
    assert not OutboxEntry.objects.exists()


def test_a_refused_consent_leaves_the_contact_as_it_was(api):
    api.put("contacts/C1", anna(newsletter=True))

    response = api.put("contacts/C1", anna(newsletter="maybe", first_name="Anne"))

    assert response.status_code == 422
    assert Contact.objects.get().fields == anna(newsletter=True)
    assert OutboxEntry.objects.count() == 1


def test_other_problems_are_reported_together_with_the_consent_value(api):
    response = api.put("contacts/C1", {"email": "nope", "newsletter": "maybe"})

    assert set(response.json()["fields"]) == {"email", "newsletter"}


@pytest.mark.parametrize(
    "value", ["yes", "Nee", " ja ", "0", "1", "off", "X", "-", True, False, 0, 1, None, "", "  "]
)
def test_every_spelling_the_mapping_reads_and_an_empty_value_are_still_accepted(api, value):
    response = api.put("contacts/C1", anna(newsletter=value))

    assert response.status_code == 202, response.content
    assert Contact.objects.get().fields["newsletter"] == (
        value.strip() if isinstance(value, str) else value
    )


def test_a_field_no_yes_no_row_reads_takes_any_value_from_the_moment_the_mapping_is_saved(api):
    assert api.put("contacts/C1", anna(newsletter="maybe")).status_code == 422

    save_version(rows=[r for r in DEFAULT_ROWS if r["property"] != "permissions"], author=None)
    response = api.put("contacts/C1", anna(newsletter="maybe"))

    assert response.status_code == 202, response.content


def test_a_batch_rejects_the_item_with_the_meaningless_consent_and_accepts_the_others(api):
    items = [
        {"external_id": "C1", **anna(newsletter="yes")},
        {"external_id": "C2", **anna(newsletter="maybe")},
        {"external_id": "C3", **anna(newsletter=False)},
    ]

    body = api.post("contacts/batch", {"contacts": items}).json()

    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "accepted"]
    error = body["results"][1]["error"]
    assert (error["status"], error["fields"]) == (422, {"newsletter": refusal("maybe")})
    assert set(Contact.objects.values_list("external_id", flat=True)) == {"C1", "C3"}
    assert OutboxEntry.objects.count() == 2


def test_a_csv_row_with_a_meaningless_consent_is_a_row_problem(client_as):
    customers = (
        "Customer number,E-mail,Newsletter\n"
        "C1,anna@example.com,ja\n"
        "C2,bram@example.com,maybe\n"
        "C3,chloe@example.com,\n"
    )

    job = run(upload_and_map(client_as("admin"), customers))

    assert job.status == CsvImportStatus.DONE
    assert (job.created_count, job.failed_count) == (2, 1)
    errors = [(e.row, e.column, e.message) for e in job.row_errors.all()]
    assert errors == [(3, "Newsletter", refusal("maybe"))]
    assert set(Contact.objects.values_list("external_id", flat=True)) == {"C1", "C3"}
