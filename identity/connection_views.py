"""The Spotler connection page (Admins): the settings in use, the account facts an Admin reads
in Spotler, and *test connection* (identity/connection.py)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from identity import connection
from identity.connection_forms import SpotlerAccountForm
from identity.models import SpotlerAccount
from spotlersync.roles import role_required


@role_required("manage_connection")
def connection_edit(request: HttpRequest) -> HttpResponse:
    account = SpotlerAccount.current()
    form = SpotlerAccountForm.for_account(account, request.POST or None)
    if request.method == "POST" and form.is_valid():
        if connection.save_account(by=request.user, **form.cleaned_data):
            messages.success(request, "Saved. The change is in the audit trail.")
        else:
            messages.info(request, "Nothing changed.")
        return redirect("identity:connection-edit")
    context = {
        "form": form,
        "account": account,
        "settings": connection.connection_settings(),
        "throttling": connection.throttling_so_far(),
        "now": timezone.now(),
    }
    return render(request, "identity/connection_edit.html", context)


@require_POST
@role_required("manage_connection")
def connection_check(request: HttpRequest) -> HttpResponse:
    """Call Spotler now. htmx swaps in the panel with the finding; without script, the page."""
    found = connection.check_connection(by=request.user)
    if request.headers.get("HX-Request"):
        account = SpotlerAccount.current()
        return render(request, "identity/_connection_check.html", {"account": account})
    if found["ok"]:
        messages.success(request, "Spotler answered: the connection works.")
    else:
        messages.error(request, f"The connection test failed: {found['error']['reason']}")
    return redirect("identity:connection-edit")
