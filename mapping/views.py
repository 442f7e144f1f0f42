from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_q.tasks import async_task

from contacts.models import Contact, is_external_id
from mapping import editor, push_offer, tasks
from mapping.forms import apply_action, rows_from_post
from mapping.models import MappingVersion
from mapping.rows import CONVERSION_LABELS
from mapping.source import seen_source_fields
from mapping.stored_catalogue import catalogue_entries, mapping_drift
from mapping.versions import (
    changes_what_spotler_receives,
    current_version,
    restore_version,
    save_version,
)
from spotlersync.roles import role_required

CONVERSION_CHOICES = list(CONVERSION_LABELS.items())


# The contact the preview shows, kept for the user's session until they pick another.
PREVIEW_KEY = "mapping_preview_id"
PREVIEW_MATCHES = 8


@role_required("edit_mapping")
def mapping_edit(request: HttpRequest) -> HttpResponse:
    version = current_version()
    if request.method != "POST":
        return _page(request, rows=version.rows, version=version)
    _remember_preview(request)
    rows = rows_from_post(request.POST, catalogue=catalogue_entries())
    email_owned = bool(request.POST.get("email_owned"))
    checked = editor.check_rows(rows)
    errors = checked.errors + editor.check_note(request.POST.get("note", ""))
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
    for found in checked.refusals:
        messages.warning(request, found.describe(contacts=checked.contacts))
    if changes_what_spotler_receives(version.rows, saved.rows):
        return redirect(_saved_url(saved.number))
    return redirect("mapping:mapping-edit")


@require_POST
@role_required("edit_mapping")
def mapping_rows(request: HttpRequest) -> HttpResponse:
    """The editor's rows after add / remove / move, with the preview swapped in beside them."""
    catalogue = catalogue_entries()
    rows = apply_action(
        rows_from_post(request.POST, catalogue=catalogue), request.POST.get("action", "")
    )
    context = _editor_context(rows=rows, preview_id=_remember_preview(request))
    return render(request, "mapping/_rows_and_preview.html", context)


@require_POST
@role_required("edit_mapping")
def mapping_preview(request: HttpRequest) -> HttpResponse:
    rows = rows_from_post(request.POST, catalogue=catalogue_entries())
    preview = editor.preview_contact(rows=rows, external_id=_remember_preview(request))
    return render(request, "mapping/_preview.html", {"preview": preview})


@role_required("edit_mapping")
def preview_matches(request: HttpRequest) -> HttpResponse:
    """Contacts to preview, found by the start of their external id or e-mail address."""
    text = request.GET.get("q", "").strip()[:254]
    found = []
    if text and "\x00" not in text:
        found = Contact.objects.live().search(text).order_by("-changed_at")[:PREVIEW_MATCHES]
    return render(request, "mapping/_preview_matches.html", {"found": found, "text": text})


@require_POST
@role_required("edit_mapping")
def push_affected(request: HttpRequest, number: int) -> HttpResponse:
    """Start the run that sends the contacts version `number` changed (offered once, after
    the save that made it; see mapping/push_offer.py)."""
    get_object_or_404(MappingVersion, number=number)
    confirmed = bool(request.POST.get("confirm"))
    try:
        run = push_offer.start_push(number=number, user=request.user, confirmed=confirmed)
    except push_offer.AlreadyStarted as started:
        if started.run is None:
            return _push_refused(request, str(started))
        messages.info(request, str(started))
        return redirect("sync:run-detail", pk=started.run.pk)
    except push_offer.ConfirmationNeeded as error:
        messages.error(request, str(error))
        return redirect(_saved_url(number))
    except push_offer.PushRefused as refused:
        return _push_refused(request, str(refused))
    messages.success(
        request,
        f"Started run #{run.pk}: the {run.total:,} contact{pluralize(run.total)} version "
        f"{number} changed go to Spotler.",
    )
    return redirect("sync:run-detail", pk=run.pk)


@require_POST
@role_required("edit_mapping")
def mapping_restore(request: HttpRequest, number: int) -> HttpResponse:
    old = get_object_or_404(MappingVersion, number=number)
    previous = current_version()
    restored = restore_version(number=number, author=request.user)
    messages.success(request, f"Version {number} restored as version {restored.number}.")
    if changes_what_spotler_receives(previous.rows, old.rows):
        return redirect(_saved_url(restored.number))
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
    preview_id = (
        request.POST.get("preview_id", "") if request.method == "POST" else _kept_preview(request)
    )
    context = {
        **_editor_context(
            rows=rows, preview_id=preview_id, row_errors=row_errors, properties=properties
        ),
        "version": version,
        "versions": MappingVersion.objects.select_related("author")[:50],
        "not_saved": _not_saved(errors, rows=rows),
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
    preview = editor.preview_contact(rows=rows, external_id=preview_id)
    return {
        "row_items": editor.row_items(rows, row_errors=row_errors, properties=properties),
        "row_count": len(rows),
        "conversion_choices": CONVERSION_CHOICES,
        "property_choices": properties,
        "source_fields": seen_source_fields(),
        "preview": preview,
        # The contact shown stays the preview's until the user picks another: the form names it.
        "preview_id": preview.contact.external_id if preview.contact else preview_id,
    }


def _push_offer(request: HttpRequest, version: MappingVersion) -> push_offer.PushOffer | None:
    """After a save that changes what Spotler receives: how many contacts, to push them now
    (or, once started, the run that does)."""
    if request.GET.get("saved") != str(version.number):
        return None
    return push_offer.offer_for(version)


def _saved_url(number: int) -> str:
    return f"{reverse('mapping:mapping-edit')}?saved={number}"


def _push_refused(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "mapping/push_refused.html", {"message": message}, status=409)


def _remember_preview(request: HttpRequest) -> str:
    """The contact the form asks to preview; a real external id is kept for the session."""
    preview_id = request.POST.get("preview_id", "").strip()
    if preview_id and is_external_id(preview_id):
        request.session[PREVIEW_KEY] = preview_id
    return preview_id


def _kept_preview(request: HttpRequest) -> str:
    """The contact picked earlier in this session, while it still exists (else: the latest)."""
    kept = request.session.get(PREVIEW_KEY, "")
    return kept if kept and Contact.objects.live().with_external_id(kept).exists() else ""


def _not_saved(errors, *, rows: list[dict]) -> list[str]:
    """Each reason the save was refused, naming its row, for the top of the page."""
    lines = []
    for error in errors:
        if error.index < 0 or error.index >= len(rows):
            lines.append(error.message)
        else:
            what = rows[error.index].get("property") or "no property yet"
            lines.append(f"Row {error.index + 1} ({what}): {error.message}")
    return lines


def _by_row(errors) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for error in errors:
        grouped.setdefault(error.index, []).append(error.message)
    return grouped
