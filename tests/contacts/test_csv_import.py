import csv
import io
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts import csv_import
from contacts.models import Contact, CsvImport, CsvImportFile, CsvImportStatus
from spotlersync.email_addresses import RULE
from sync.models import OutboxEntry
from tests.conftest import transactional
from tests.contacts.helpers import csv_import_form, mapping_data, run, upload, upload_and_map
from tests.queue_cluster import running_cluster

CUSTOMERS = (
    "Customer number,E-mail,First name,Language,Notes\n"
    "C1,anna@example.com,Anna,nl,\n"
    "C2,not-an-address,Bram,de,\n"
    ",nobody@example.com,Chloé,en,\n"
    "C4,dirk@example.com,Di\x07rk,nl,\n"
    f"C5,eva@example.com,{'E' * 10_000},nl,\n"
    '"C6","fenna@example.com","Fenna ""Fen"" Smit","nl","quoted, with a comma"\n'
)


@pytest.fixture
def admin_client(client_as):
    return client_as("admin")


def test_an_import_creates_the_good_rows_and_says_what_to_fix_in_the_others(admin_client):
    job = run(upload_and_map(admin_client, CUSTOMERS))

    assert job.status == CsvImportStatus.DONE
    assert (job.total_rows, job.done_rows) == (6, 6)
    assert (job.created_count, job.changed_count, job.unchanged_count) == (2, 0, 0)
    assert job.failed_count == 4
    errors = [(e.row, e.column, e.message) for e in job.row_errors.all()]
    assert errors[0] == (3, "E-mail", f"“not-an-address” is not an e-mail address. {RULE}")
    assert errors[1] == (4, "Customer number", "An external id is required.")
    assert errors[2][:2] == (5, "First name") and "control character (U+0007)" in errors[2][2]
    assert errors[3] == (
        6,
        "First name",
        "This is 10000 characters long; the most accepted is 1000.",
    )
    assert len(errors) == 4
    fenna = Contact.objects.get(external_id="C6")
    assert fenna.fields == {
        "email": "fenna@example.com",
        "first_name": 'Fenna "Fen" Smit',
        "language": "nl",
        "notes": "quoted, with a comma",
    }
    # Empty cells are left out; `external_id` names the contact and is not one of its fields.
    assert Contact.objects.get(external_id="C1").fields == {
        "email": "anna@example.com",
        "first_name": "Anna",
        "language": "nl",
    }


def test_rows_with_problems_leave_nothing_behind(admin_client):
    run(upload_and_map(admin_client, CUSTOMERS))

    assert set(Contact.objects.values_list("external_id", flat=True)) == {"C1", "C6"}
    assert OutboxEntry.objects.count() == 2
    # The file held personal data; once imported, only the ledger keeps it.
    assert not CsvImportFile.objects.exists()


def test_importing_the_same_file_again_changes_nothing(admin_client):
    run(upload_and_map(admin_client, CUSTOMERS))
    contacts_before = list(Contact.objects.order_by("pk").values())

    again = run(upload_and_map(admin_client, CUSTOMERS))

    assert (again.created_count, again.changed_count, again.unchanged_count) == (0, 0, 2)
    assert again.failed_count == 4
    assert list(Contact.objects.order_by("pk").values()) == contacts_before
    assert OutboxEntry.objects.count() == 2


def test_a_changed_row_is_counted_as_changed_and_queued(admin_client):
    run(upload_and_map(admin_client, "id;email\nC1;anna@example.com\nC2;bram@example.com\n"))

    job = run(upload_and_map(admin_client, "id;email\nC1;anna@example.com\nC2;bram@new.example\n"))

    assert (job.created_count, job.changed_count, job.unchanged_count) == (0, 1, 1)
    assert Contact.objects.get(external_id="C2").email == "bram@new.example"
    assert OutboxEntry.objects.count() == 3


def test_a_semicolon_file_with_a_byte_order_mark_is_read_as_excel_writes_it(admin_client):
    content = "\ufeffKlantnummer;Email;Voornaam\r\nK1;anna@example.com;Anna\r\n".encode()

    job = upload_and_map(admin_client, content, external_id_column="0")

    assert job.delimiter == ";"
    assert job.headers == ["Klantnummer", "Email", "Voornaam"]
    assert job.columns == ["external_id", "email", "voornaam"]
    run(job)
    assert Contact.objects.get(external_id="K1").fields == {
        "email": "anna@example.com",
        "voornaam": "Anna",
    }


def test_a_file_in_another_encoding_is_refused_with_what_to_do(admin_client):
    response = upload(admin_client, "id,email,name\nC1,a@example.com,Zoë\n".encode("cp1252"))

    assert response.status_code == 200
    text = response.content.decode()
    assert "This file is not UTF-8 text" in text
    assert "CSV UTF-8" in text
    assert not CsvImport.objects.exists()


def test_a_file_without_a_header_row_of_columns_is_refused(admin_client):
    response = upload(admin_client, "just one column\n")

    assert "The first row must name the columns" in response.content.decode()
    assert not CsvImport.objects.exists()


def test_the_mapping_suggests_the_id_and_email_columns_and_slugs_for_the_others(admin_client):
    upload(admin_client, CUSTOMERS)
    job = CsvImport.objects.get()

    page = admin_client.get(reverse("contacts:import-map", args=[job.pk])).content.decode()

    assert "anna@example.com · not-an-address · nobody@example.com" in page
    form = csv_import_form(job)
    assert (form["external_id_column"].initial, form["email_column"].initial) == (0, 1)
    assert [form[f"field_{i}"].initial for i in range(5)] == [
        "customer_number",
        "e_mail",
        "first_name",
        "language",
        "notes",
    ]


def test_the_mapping_needs_an_id_column_and_valid_distinct_field_names(admin_client):
    upload(admin_client, CUSTOMERS)
    job = CsvImport.objects.get()
    url = reverse("contacts:import-map", args=[job.pk])

    missing = admin_client.post(url, mapping_data(job, external_id_column=""))
    clash = admin_client.post(url, mapping_data(job, field_3="first_name", field_4="1st"))

    assert "This field is required." in missing.content.decode()
    text = clash.content.decode()
    assert "“First name” already fills “first_name”" in text
    assert "starting with a letter" in text
    job.refresh_from_db()
    assert job.status == CsvImportStatus.MAPPING


def test_a_skipped_column_is_not_imported(admin_client):
    job = run(upload_and_map(admin_client, CUSTOMERS, skip_4="on"))

    assert job.columns == ["external_id", "email", "first_name", "language", ""]
    assert "notes" not in Contact.objects.get(external_id="C6").fields


def test_a_row_with_more_cells_than_the_header_is_reported_not_guessed(admin_client):
    job = run(upload_and_map(admin_client, "id,email\nC1,anna@example.com,extra\n"))

    assert job.failed_count == 1
    error = job.row_errors.get()
    assert (error.row, error.column) == (2, "")
    assert "This row has 3 cells, the header 2" in error.message
    assert not Contact.objects.exists()


def test_a_second_click_on_import_queues_it_once(admin_client):
    job = upload_and_map(admin_client, CUSTOMERS)

    response = admin_client.post(reverse("contacts:import-map", args=[job.pk]), mapping_data(job))

    assert response["Location"] == reverse("contacts:import-detail", args=[job.pk])
    assert "was not waiting in the queue" in csv_import.run_import(import_id=run(job).pk)


def test_the_detail_page_polls_until_done_then_lists_the_problems(admin_client):
    job = upload_and_map(admin_client, CUSTOMERS)
    detail = reverse("contacts:import-detail", args=[job.pk])
    progress = reverse("contacts:import-progress", args=[job.pk])

    waiting = admin_client.get(detail).content.decode()
    assert f'hx-get="{progress}" hx-trigger="every 1s"' in waiting
    run(job)
    polled = admin_client.get(progress, HTTP_HX_REQUEST="true")
    page = admin_client.get(detail).content.decode()

    assert polled["HX-Refresh"] == "true"
    assert 'value="100"' in polled.content.decode()
    assert "hx-trigger" not in page
    assert "2 created · 0 changed · 0 unchanged" in " ".join(page.split())
    assert "“not-an-address” is not an e-mail address." in page
    assert "Download all 4 problems as CSV" in page


def test_all_problems_download_as_csv(admin_client):
    job = run(upload_and_map(admin_client, CUSTOMERS))

    response = admin_client.get(reverse("contacts:import-errors", args=[job.pk]))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["row", "column", "problem"]
    assert [row[:2] for row in rows[1:]] == [
        ["3", "E-mail"],
        ["4", "Customer number"],
        ["5", "First name"],
        ["6", "First name"],
    ]


def test_a_marketer_can_neither_upload_nor_map(client_as, admin_user, client):
    client.force_login(admin_user)
    upload(client, CUSTOMERS)
    job = CsvImport.objects.get()
    marketer = client_as("marketer")

    assert upload(marketer, CUSTOMERS).status_code == 403
    mapped = marketer.post(reverse("contacts:import-map", args=[job.pk]), mapping_data(job))
    assert mapped.status_code == 403
    assert CsvImport.objects.get().status == CsvImportStatus.MAPPING


@transactional
def test_the_import_runs_on_the_queue(admin_client):
    # Queued once the cluster runs: `running_cluster` empties the cache as it starts, and with
    # Redis that is also the broker's database.
    with running_cluster(workers=2):
        job = upload_and_map(admin_client, CUSTOMERS)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.is_finished:
                break
            time.sleep(0.3)

    assert job.status == CsvImportStatus.DONE, job.failure
    assert (job.created_count, job.failed_count) == (2, 4)
    assert set(Contact.objects.values_list("external_id", flat=True)) == {"C1", "C6"}


def test_a_cell_spanning_lines_is_one_row_and_the_row_numbers_stay_a_spreadsheets(admin_client):
    content = 'id,email,notes\nC1,anna@example.com,"line one\nline two"\nC2,bad,\n'

    job = run(upload_and_map(admin_client, content))

    assert [(e.row, e.column) for e in job.row_errors.all()] == [(2, "notes"), (3, "email")]
    assert "control character (U+000A)" in job.row_errors.first().message


def test_a_file_that_cannot_be_read_to_its_end_imports_nothing_and_says_where(admin_client):
    good = "".join(f"C{n},c{n}@example.com,\n" for n in range(1, 5))
    content = f"id,email,notes\n{good}C5,eva@example.com,{'x' * 200_000}\n"

    job = run(upload_and_map(admin_client, content))

    assert job.status == CsvImportStatus.FAILED
    assert job.failure.startswith("Row 6 cannot be read as CSV (field larger than field limit")
    assert "nothing was imported" in job.failure
    assert not Contact.objects.exists()
    assert not CsvImportFile.objects.exists()
    page = admin_client.get(reverse("contacts:import-detail", args=[job.pk])).content.decode()
    assert "Row 6 cannot be read as CSV" in page


def test_an_import_whose_worker_died_is_shown_as_stopped_not_running_forever(admin_client):
    job = upload_and_map(admin_client, CUSTOMERS)
    long_ago = timezone.now() - timedelta(hours=1)
    CsvImport.objects.filter(pk=job.pk).update(
        status=CsvImportStatus.RUNNING, progress_at=long_ago, done_rows=1000
    )
    progress = reverse("contacts:import-progress", args=[job.pk])

    polled = admin_client.get(progress, HTTP_HX_REQUEST="true")

    assert polled["HX-Refresh"] == "true"
    job.refresh_from_db()
    assert job.status == CsvImportStatus.FAILED
    assert job.failure.startswith("The import stopped after 1000 rows")
    assert not CsvImportFile.objects.exists()


def test_a_running_import_that_moves_on_is_left_alone(admin_client):
    job = upload_and_map(admin_client, CUSTOMERS)
    CsvImport.objects.filter(pk=job.pk).update(
        status=CsvImportStatus.RUNNING, progress_at=timezone.now()
    )

    page = admin_client.get(reverse("contacts:import-detail", args=[job.pk])).content.decode()

    assert "hx-trigger" in page
    job.refresh_from_db()
    assert job.status == CsvImportStatus.RUNNING
