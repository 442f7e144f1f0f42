"""Pages of the CSV import (Admins): upload, map the columns, watch it run, read its errors."""

import io

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django_q.tasks import async_task

from contacts import csv_import, tasks
from contacts.import_forms import ColumnMappingForm, CsvUploadForm
from contacts.models import CsvImport, CsvImportStatus
from spotlersync.roles import role_required

ERRORS_PER_PAGE = 100
RECENT_IMPORTS = 20


@role_required("run_syncs")
def import_upload(request: HttpRequest) -> HttpResponse:
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        new = csv_import.create_import(
            file_name=form.cleaned_data["file"].name, content=form.content, created_by=request.user
        )
        return redirect("contacts:import-map", pk=new.pk)
    recent = CsvImport.objects.select_related("created_by")[:RECENT_IMPORTS]
    return render(request, "contacts/csvimport_upload.html", {"form": form, "recent": recent})


@role_required("run_syncs")
def import_map(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(CsvImport, pk=pk)
    if job.status != CsvImportStatus.MAPPING:
        return redirect("contacts:import-detail", pk=job.pk)
    form = ColumnMappingForm(request.POST or None, csv_import=job)
    if request.method == "POST" and form.is_valid():
        if csv_import.queue_import(csv_import=job, columns=form.cleaned_data["columns"]):
            transaction.on_commit(
                lambda: async_task(tasks.run_csv_import, job.pk, group="csv-import")
            )
            messages.success(request, f"“{job.file_name}” is queued for import.")
        return redirect("contacts:import-detail", pk=job.pk)
    return render(request, "contacts/csvimport_map.html", {"job": job, "form": form})


@role_required("run_syncs")
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = csv_import.fail_if_stalled(
        get_object_or_404(CsvImport.objects.select_related("created_by"), pk=pk)
    )
    if job.status == CsvImportStatus.MAPPING:
        return redirect("contacts:import-map", pk=job.pk)
    errors = Paginator(job.row_errors.all(), ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "contacts/csvimport_detail.html", {"job": job, "errors": errors})


@role_required("run_syncs")
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress panel, polled by htmx; once the import ends, the whole page reloads."""
    job = csv_import.fail_if_stalled(get_object_or_404(CsvImport, pk=pk))
    response = render(request, "contacts/_csvimport_progress.html", {"job": job})
    if job.is_finished and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@role_required("run_syncs")
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(CsvImport, pk=pk)
    out = io.StringIO()
    csv_import.write_errors_csv(job, out)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response
