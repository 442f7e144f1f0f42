"""The ingest API's browsable docs page (`/api/v1/docs`): Swagger UI, served from our own static
files (ninja's copy, found because `ninja` is in INSTALLED_APPS), never from a CDN."""

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger
from ninja.responses import NinjaJSONEncoder

from contacts.api_errors import EscapingRenderer


class SelfContainedSwagger(Swagger):
    """Swagger UI with the OpenAPI document written into the page.

    The page then needs no second request for the document, which a browser would send without
    the caller's API token: a token holder who opens the page gets the whole description.
    """

    # No validator badge: it would send the document to swagger.io.
    default_settings = {**Swagger.default_settings, "validatorUrl": None}

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        document = api.get_openapi_schema(path_params=kwargs)
        page_settings = {**self.settings, "spec": document}
        # The settings sit in a <script type="application/json"> block: escape < > & so no
        # text in the document can end that block early.
        text = json.dumps(page_settings, indent=1, cls=NinjaJSONEncoder)
        text = text.translate(EscapingRenderer.escapes)
        context = {"swagger_settings": text, "api": api, "add_csrf": False}
        return render(request, self.template, context)
