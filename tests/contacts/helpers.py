"""Helpers the contacts tests share: the CSV import driven through its pages, the API's
OpenAPI document."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contacts import csv_import
from contacts.models import CsvImport, CsvImportStatus

UPLOAD = reverse("contacts:import-upload")


def upload(client, content: bytes | str, name: str = "customers.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data, "text/csv")})


def mapping_data(job: CsvImport, **overrides) -> dict:
    """What the mapping form posts when the Admin accepts its suggestions."""
    form = csv_import_form(job)
    data = {name: form[name].initial for name in form.fields}
    data = {name: value for name, value in data.items() if value is not None and value is not False}
    data.update(overrides)
    return data


def csv_import_form(job: CsvImport):
    from contacts.import_forms import ColumnMappingForm

    return ColumnMappingForm(csv_import=job)


def upload_and_map(client, content: bytes | str, **overrides) -> CsvImport:
    response = upload(client, content)
    assert response.status_code == 302, response.content.decode()
    job = CsvImport.objects.latest("id")
    assert response["Location"] == reverse("contacts:import-map", args=[job.pk])
    response = client.post(
        reverse("contacts:import-map", args=[job.pk]), mapping_data(job, **overrides)
    )
    assert response.status_code == 302, response.content.decode()
    job.refresh_from_db()
    assert job.status == CsvImportStatus.QUEUED
    return job


def run(job: CsvImport) -> CsvImport:
    csv_import.run_import(import_id=job.pk)
    job.refresh_from_db()
    return job


def document(client_as) -> dict:
    return client_as("marketer").get("/api/v1/openapi.json").json()
