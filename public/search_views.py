"""The staff page that searches Spotler itself by property values (Marketers and Admins)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

import spotler
from public import search
from public.search_forms import read_conditions
from spotlersync.roles import role_required
from sync.spotler_connection import waiting_client


@role_required("search_spotler")
def search_spotler(request: HttpRequest) -> HttpResponse:
    """Search Spotler's contacts by one or more `property = value` conditions; each contact
    found is shown with its place in the ledger."""
    properties = search.searchable_properties()
    catalogue = {p.name: p for p in properties}
    conditions, rows, problems = read_conditions(request.GET, catalogue=catalogue)
    result, spotler_error = None, ""
    if conditions and not problems:
        result, spotler_error = _search(conditions)
    context = {
        "properties": properties, "rows": rows, "problems": problems, "conditions": conditions,
        "result": result, "spotler_error": spotler_error, "max_scanned": search.MAX_SCANNED,
        "max_shown": search.MAX_SHOWN,
    }  # fmt: skip
    return render(request, "public/search_spotler.html", context)


def _search(conditions: list[search.Condition]) -> tuple[search.SearchResult | None, str]:
    try:
        with waiting_client() as client:
            return search.search_contacts(client, conditions=conditions), ""
    except spotler.SpotlerError as error:
        return None, spotler_problem(error)


def spotler_problem(error: spotler.SpotlerError) -> str:
    """Spotler's failure in words a Marketer can act on."""
    if error.status == 429:
        wait = f" Try again in {error.retry_after:g} seconds." if error.retry_after else ""
        return f"Spotler is busy and asked us to slow down.{wait} (Spotler said: {error})"
    if error.status is None or error.status >= 500:
        return f"Spotler could not be reached or failed; try again in a minute. ({error})"
    return f"Spotler refused the search: {error}"
