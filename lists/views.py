from datetime import date, datetime, time

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

import spotler
from contacts.models import SyncStatus
from lists import budget, lifecycle, refresh, send
from lists.id_file import IdFileProblem, read_id_file
from lists.models import TempList, TempListState
from lists.selection import (
    INCLUDABLE,
    LEFT_OUT_REASONS,
    OPERATORS,
    SAMPLE_SIZE,
    Selection,
    SelectionFilters,
    SelectionProblem,
    account_managers,
    describe,
    in_a_sentence,
    languages,
    select_contacts,
    select_ids,
)
from mapping.source import LEDGER_FIELDS, seen_source_fields
from spotlersync.moments import LATEST_YEAR
from spotlersync.roles import role_required


@role_required("manage_lists")
def list_list(request: HttpRequest) -> HttpResponse:
    seen, error = budget.read_budget_for_page()
    kept = TempList.objects.exclude(state=TempListState.DELETED).select_related("created_by")
    context = {"budget": seen, "spotler_error": error, "lists": kept, "now": timezone.now()}
    return render(request, "lists/templist_list.html", context)


@role_required("manage_lists")
def list_new(request: HttpRequest) -> HttpResponse:
    """Make a selection (by filters, or from an uploaded file of ids), preview it, send it."""
    source = request.POST if request.method == "POST" else request.GET
    filters = _filters_from(source)
    from_file = source.get("from") == "file" and _UPLOAD in request.session
    problem = ""
    try:
        if from_file:
            selection, unknown = select_ids(
                request.session[_UPLOAD]["ids"], include=filters.include
            )
        else:
            selection, unknown = select_contacts(filters), []
    except SelectionProblem as error:
        selection, unknown, problem = Selection(), [], str(error)
    if request.method == "POST" and not problem and not selection.size:
        messages.error(request, "The selection is empty: there is nobody to send. Widen it first.")
    elif request.method == "POST" and not problem:
        made = _create(request, source, filters, selection, unknown, from_file=from_file)
        if made is not None:
            request.session.pop(_UPLOAD, None)
            messages.success(request, f"“{made.name}” is made; its contacts are being sent.")
            return redirect("lists:list-detail", pk=made.pk)
    seen, error = budget.read_budget_for_page()
    context = {
        "filters": filters, "selection": selection, "problem": problem, "budget": seen,
        "spotler_error": error, "operators": OPERATORS, "states": SyncStatus.choices,
        "name": source.get("name", ""), "includable": INCLUDABLE,
        "expires_on": source.get("expires_on", ""),
        "languages": languages(), "account_managers": account_managers(),
        "source_fields": [n for n in seen_source_fields() if n not in LEDGER_FIELDS],
        "upload": request.session.get(_UPLOAD) if from_file else None,
        "unknown": unknown, "unknown_sample": unknown[:SAMPLE_SIZE],
    }  # fmt: skip
    return render(request, "lists/templist_new.html", context)


@require_POST
@role_required("manage_lists")
def list_upload(request: HttpRequest) -> HttpResponse:
    """Read an uploaded file of external ids and preview the list it names."""
    upload = request.FILES.get("ids_file")
    try:
        ids = read_id_file(upload)
    except IdFileProblem as problem:
        messages.error(request, str(problem))
        return redirect("lists:list-new")
    return offer_ids(request, name=upload.name, ids=ids)


def offer_ids(request: HttpRequest, *, name: str, ids: list[str]) -> HttpResponse:
    """The new list's page with `ids` to preview, as if uploaded in a file called `name`: an
    uploaded file, or a selection another page made (the duplicates report's households)."""
    request.session[_UPLOAD] = {"name": name, "ids": ids}
    return redirect(f"{reverse('lists:list-new')}?from=file")


# The ids of the last uploaded file, kept in the session until a list is made from them.
_UPLOAD = "lists_uploaded_ids"


def _filters_from(source) -> SelectionFilters:
    text = {name: source.get(name, "").strip() for name in _TEXT_FILTERS}
    if not text["source_field"]:
        text["operator"] = text["value"] = ""
    return SelectionFilters(**text, include=tuple(dict.fromkeys(source.getlist("include"))))


_TEXT_FILTERS = [f for f in SelectionFilters.__dataclass_fields__ if f != "include"]


def _create(request, source, filters, selection, unknown, *, from_file: bool) -> TempList | None:
    named = request.session[_UPLOAD]["ids"] if from_file else []
    saved = filters.as_dict()
    if from_file:
        saved["file"] = request.session[_UPLOAD]["name"]
    expires_at, problem = _end_of_day(source.get("expires_on", ""))
    if problem:
        messages.error(request, problem)
        return None
    try:
        return budget.create_list(
            name=source.get("name", ""), contact_ids=selection.ids, left_out=selection.left_out,
            unknown_ids=unknown, filters=saved, named_ids=named,
            created_by=request.user, expires_at=expires_at, to_push=selection.not_in_spotler,
        )  # fmt: skip
    except (budget.BudgetExhausted, budget.ListRefused) as refusal:
        messages.error(request, str(refusal))
    except spotler.SpotlerError as error:
        messages.error(request, f"Spotler could not be asked about the budget: {error}")
    return None


@role_required("manage_lists")
def list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(TempList, pk=pk)
    left_out = [
        (in_a_sentence(LEFT_OUT_REASONS.get(r, r)), n) for r, n in found.left_out.items() if n
    ]
    if found.unknown_ids:
        left_out.append(("not in the ledger", len(found.unknown_ids)))
    context = {
        "list": found,
        "left_out": left_out,
        "made_from": describe(found.filters, named=len(found.named_ids)),
    }
    return render(request, "lists/templist_detail.html", context)


@role_required("manage_lists")
def list_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The list's state alone, which its page polls while the queue sends or deletes it."""
    found = get_object_or_404(TempList, pk=pk)
    return render(request, "lists/_progress.html", {"list": found})


@require_POST
@role_required("manage_lists")
def list_delete(request: HttpRequest) -> HttpResponse:
    """Delete the ticked lists of ours; an id that is not ours (another system's) is refused."""
    ids = request.POST.getlist("spotler_id")
    if not ids:
        messages.error(request, "Tick the lists to delete first.")
    ours = {t.spotler_id: t for t in TempList.objects.filter(spotler_id__in=ids)}
    for spotler_id in ids:
        found = ours.get(spotler_id)
        if found is None:
            messages.error(
                request, f"{spotler_id} is not one of our lists; only its system can delete it."
            )
        elif lifecycle.request_delete(list_pk=found.pk, actor=request.user):
            messages.success(request, f"“{found.name}” is being deleted.")
        else:
            messages.error(
                request,
                f"“{found.name}” cannot be deleted now: {found.get_state_display().lower()}.",
            )
    return redirect("lists:list-list")


@require_POST
@role_required("manage_lists")
def list_resume(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(TempList, pk=pk)
    if send.resume_list(list_pk=found.pk):
        messages.success(request, f"Sending “{found.name}” goes on from contact {found.sent + 1}.")
    else:
        messages.error(request, f"“{found.name}” has not failed; there is nothing to resume.")
    return redirect("lists:list-detail", pk=found.pk)


@require_POST
@role_required("manage_lists")
def list_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    """Make the list's selection again: new contacts are added, or the list is replaced."""
    found = get_object_or_404(TempList, pk=pk)
    try:
        outcome = refresh.refresh_list(list_pk=found.pk, created_by=request.user)
    except (refresh.RefreshRefused, budget.BudgetExhausted, budget.ListRefused) as refusal:
        messages.error(request, str(refusal))
    except spotler.SpotlerError as error:
        messages.error(request, f"Spotler could not be asked about the budget: {error}")
    else:
        messages.success(request, outcome.describe(found.name))
        return redirect("lists:list-detail", pk=outcome.refreshed.pk)
    return redirect("lists:list-detail", pk=found.pk)


def _end_of_day(text: str) -> tuple[datetime | None, str]:
    """The end date's last minute (None: the default end), or what is wrong with it."""
    if not text.strip():
        return None, ""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None, f"“{text}” is not a date; write the end date as YYYY-MM-DD."
    if day.year > LATEST_YEAR:
        return None, f"The end date must be before the year {LATEST_YEAR + 1}."
    moment = timezone.make_aware(datetime.combine(day, time(23, 59)))
    if moment <= timezone.now():
        return None, f"The end date {day:%Y-%m-%d} has passed; choose a day from today on."
    return moment, ""
