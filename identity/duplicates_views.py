from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from identity import duplicates
from identity.duplicates_export import duplicates_csv
from identity.duplicates_forms import DuplicateFilterForm
from identity.models import DedupeMode, SpotlerAccount
from lists.id_file import MAX_IDS
from lists.views import offer_ids
from spotlersync.roles import role_required

# The name the list builder shows for the ids it is handed.
HOUSEHOLDS_SOURCE = "the duplicates report's households"


@role_required("review_duplicates")
def duplicate_list(request: HttpRequest) -> HttpResponse:
    form = DuplicateFilterForm(request.GET)
    configured = SpotlerAccount.current().dedupe_mode
    mode = form.shown_mode(configured=configured)
    other_mode = DedupeMode.EXTERNAL_ID if mode == DedupeMode.EMAIL else DedupeMode.EMAIL
    report = duplicates.read_duplicates(filters=form.filters(), page=form.page_number())
    context = {
        "form": form,
        "report": report,
        # Each group with what Spotler does under the mode shown, and under the other one.
        "groups": [(g, g.verdict(mode), g.verdict(other_mode)) for g in report.groups],
        "mode": mode,
        "other_mode": other_mode,
        "configured": configured,
        "modes": DedupeMode,
    }
    return render(request, "identity/duplicates.html", context)


@role_required("review_duplicates")
def duplicate_export(request: HttpRequest) -> StreamingHttpResponse:
    form = DuplicateFilterForm(request.GET)
    mode = form.shown_mode(configured=SpotlerAccount.current().dedupe_mode)
    lines = duplicates_csv(filters=form.filters(), mode=mode)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="duplicates.csv"'
    return response


@require_POST
@role_required("manage_lists")
def households_to_list(request: HttpRequest) -> HttpResponse:
    """Hand the households' contacts (within the search) to the temporary list builder."""
    form = DuplicateFilterForm(request.POST)
    ids = duplicates.household_ids(form.filters())
    if not ids:
        messages.error(request, "No two people of different names share an address: no list.")
        return redirect("identity:duplicate-list")
    if len(ids) > MAX_IDS:
        messages.error(
            request,
            f"The households hold {len(ids):,} contacts; a list holds at most {MAX_IDS:,}. "
            "Search for the start of an address to make a smaller one.",
        )
        return redirect("identity:duplicate-list")
    return offer_ids(request, name=HOUSEHOLDS_SOURCE, ids=ids)
