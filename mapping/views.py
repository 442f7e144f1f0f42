from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_q.tasks import async_task

from mapping import editor, tasks
from mapping.catalogue import catalogue_entries, mapping_drift
from mapping.forms import apply_action, rows_from_post, table_to_text
from mapping.models import MappingVersion
from mapping.render import Conversion
from mapping.source import seen_source_fields
from mapping.versions import (
    changes_what_spotler_receives,
    current_version,
    restore_version,
    save_version,
)
from spotlersync.roles import role_required

CONVERSION_CHOICES = [
    (Conversion.AUTO, "auto (by type)"),
    (Conversion.BOOLEAN, "yes/no"),
    (Conversion.PERMISSION, "consent → permission"),
    (Conversion.LANGUAGE_TABLE, "language table"),
    (Conversion.LEVELS, "store levels"),
    (Conversion.GENDER, "gender"),
    (Conversion.CONSTANT, "constant"),
]


@role_required("edit_mapping")
def mapping_edit(request: HttpRequest) -> HttpResponse:
    version = current_version()
    if request.method != "POST":
        return _page(request, rows=version.rows, version=version)
    rows = rows_from_post(request.POST, catalogue=catalogue_entries())
    email_owned = bool(request.POST.get("email_owned"))
    errors = editor.check_rows(rows)
    if errors:
        return _page(request, rows=rows, version=version, errors=errors)
    if rows == version.rows and email_owned == version.email_owned_by_linked_system:
        messages.info(request, "Nothing changed, so no new version was saved.")
        return redirect("mapping:mapping-edit")
    saved = save_version(
        rows=rows,
        author=request.user,
        email_owned_by_linked_system=email_owned,
        note=request.POST.get("note", "")[:300],
    )
    messages.success(request, f"Saved as version {saved.number}.")
    if changes_what_spotler_receives(version.rows, saved.rows):
        return redirect(f"{reverse('mapping:mapping-edit')}?saved={saved.number}")
    return redirect("mapping:mapping-edit")


@require_POST
@role_required("edit_mapping")
def mapping_rows(request: HttpRequest) -> HttpResponse:
    """The editor's rows after add / remove / move, with the preview swapped in beside them."""
    catalogue = catalogue_entries()
    rows = apply_action(
        rows_from_post(request.POST, catalogue=catalogue), request.POST.get("action", "")
    )
    context = _editor_context(rows=rows, preview_id=request.POST.get("preview_id", ""))
    return render(request, "mapping/_rows_and_preview.html", context)


@require_POST
@role_required("edit_mapping")
def mapping_preview(request: HttpRequest) -> HttpResponse:
    rows = rows_from_post(request.POST, catalogue=catalogue_entries())
    preview = editor.preview_contact(rows=rows, external_id=request.POST.get("preview_id", ""))
    return render(request, "mapping/_preview.html", {"preview": preview})


@require_POST
@role_required("edit_mapping")
def push_affected(request: HttpRequest, number: int) -> HttpResponse:
    """Queue every contact whose Spotler data version `number` changed, in the background."""
    get_object_or_404(MappingVersion, number=number)
    transaction.on_commit(lambda: async_task(tasks.push_contacts_of_version, number))
    messages.success(
        request, "The affected contacts are being queued; they reach Spotler in the coming minutes."
    )
    return redirect("mapping:mapping-edit")


@require_POST
@role_required("edit_mapping")
def mapping_restore(request: HttpRequest, number: int) -> HttpResponse:
    get_object_or_404(MappingVersion, number=number)
    restored = restore_version(number=number, author=request.user)
    messages.success(request, f"Version {number} restored as version {restored.number}.")
    return redirect("mapping:mapping-edit")


@require_POST
@role_required("edit_mapping")
def catalogue_refresh(request: HttpRequest) -> HttpResponse:
    transaction.on_commit(lambda: async_task(tasks.refresh_catalogue, group="refresh-properties"))
    messages.info(request, "Fetching Spotler's properties; this page shows them when they arrive.")
    return redirect("mapping:mapping-edit")


def _page(
    request: HttpRequest, *, rows: list[dict], version: MappingVersion, errors: list = ()
) -> HttpResponse:
    properties, last_refresh = editor.catalogue_for_editor()
    row_errors = _by_row(errors)
    preview_id = request.POST.get("preview_id", "")
    context = {
        **_editor_context(
            rows=rows, preview_id=preview_id, row_errors=row_errors, properties=properties
        ),
        "version": version,
        "versions": MappingVersion.objects.select_related("author")[:50],
        "general_errors": row_errors.get(-1, []),
        "push_offer": _push_offer(request, version),
        "email_owned": (
            bool(request.POST.get("email_owned"))
            if request.method == "POST"
            else version.email_owned_by_linked_system
        ),
        "drift": mapping_drift(),
        "properties": properties,
        "last_refresh": last_refresh,
    }
    return render(request, "mapping/mapping_edit.html", context)


def _editor_context(
    *,
    rows: list[dict],
    preview_id: str,
    row_errors: dict[int, list[str]] | None = None,
    properties: list | None = None,
) -> dict:
    if properties is None:
        properties, _ = editor.catalogue_for_editor()
    row_errors = row_errors or {}
    return {
        "row_items": [
            {
                "index": i,
                "row": row,
                "table_text": table_to_text(row["options"].get("table") or {}),
                "errors": row_errors.get(i, []),
            }
            for i, row in enumerate(rows)
        ],
        "row_count": len(rows),
        "conversion_choices": CONVERSION_CHOICES,
        "property_choices": properties,
        "source_fields": seen_source_fields(),
        "preview": editor.preview_contact(rows=rows, external_id=preview_id),
        "preview_id": preview_id,
    }


def _push_offer(request: HttpRequest, version: MappingVersion) -> dict | None:
    """After a save that changes what Spotler receives: how many contacts, to push them now."""
    if request.GET.get("saved") != str(version.number):
        return None
    count = editor.changes_of_version(version).count()
    return {"number": version.number, "count": count} if count else None


def _by_row(errors) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for error in errors:
        grouped.setdefault(error.index, []).append(error.message)
    return grouped
