from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from contacts.forms import ApiTokenForm
from contacts.models import ApiToken, TokenScope
from contacts.tokens import create_api_token, revoke_api_token
from spotlersync.roles import role_required


@role_required("manage_api_tokens")
def token_list(request: HttpRequest) -> HttpResponse:
    tokens = ApiToken.objects.select_related("created_by")
    return render(request, "contacts/apitoken_list.html", {"tokens": tokens})


@role_required("manage_api_tokens")
def token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        new = create_api_token(
            name=form.cleaned_data["name"],
            scope=TokenScope(form.cleaned_data["scope"]),
            created_by=request.user,
        )
        # Rendered, not redirected to: the secret lives only in this response, never in a
        # session or a URL, so it cannot be shown a second time.
        response = render(request, "contacts/apitoken_created.html", {"new": new})
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "contacts/apitoken_create.html", {"form": form})


@require_POST
@role_required("manage_api_tokens")
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk)
    if revoke_api_token(token=token):
        messages.success(request, f"Revoked “{token.name}”; calls with it are refused from now on.")
    else:
        messages.info(request, f"“{token.name}” was already revoked.")
    return redirect("contacts:token-list")
