"""The ingest API (`/api/v1/`): the linked system's way in. Handlers are thin; see `ingest`."""

from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Body, NinjaAPI, Query, Status
from ninja.params import functions as param
from ninja.security import HttpBearer

from contacts import batch, feed, ingest
from contacts.api_docs import SelfContainedSwagger
from contacts.api_errors import (
    ApiError,
    EscapingRenderer,
    StrictJsonParser,
    error_body,
    error_response,
    ingest_error_status,
    install_error_handlers,
)
from contacts.api_schemas import (
    ERRORS,
    BatchIn,
    BatchOut,
    ChangesOut,
    ChangesQuery,
    ContactOut,
    OrderIn,
    OrderResultOut,
    contact_fields_schema,
    external_id_schema,
)
from contacts.models import EXTERNAL_ID_PATTERN, ApiToken, Contact, TokenScope
from contacts.tokens import RateLimited, TokenRefused, authenticate_api_token, count_token_call
from lists.api import build_router as build_lists_router
from mapping.current import yes_no_sources
from spotlersync.roles import role_required


class BearerToken(HttpBearer):
    def __init__(self, *, scope: TokenScope) -> None:
        self.scope = scope
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        try:
            api_token = authenticate_api_token(secret=token)
        except TokenRefused as refused:
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            raise ApiError(401, refused.code, refused.detail, headers=headers) from None
        if api_token.scope == TokenScope.METRICS:
            detail = (
                f"API token “{api_token.name}” opens only /metrics; ask an Admin for a token "
                "with the read or write scope."
            )
            raise ApiError(403, "metrics_only_token", detail)
        if not api_token.allows(self.scope):
            detail = (
                f"API token “{api_token.name}” may only read; ask an Admin for a token with "
                "the write scope."
            )
            raise ApiError(403, "read_only_token", detail)
        try:
            count_token_call(token=api_token)
        except RateLimited as limited:
            headers = {"Retry-After": str(limited.retry_after)}
            raise ApiError(429, "rate_limited", str(limited), headers=headers) from None
        return api_token


READ = BearerToken(scope=TokenScope.READ)
WRITE = BearerToken(scope=TokenScope.WRITE)


def for_token_or_role(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Open the OpenAPI document and the docs page to a caller with an API token (either scope),
    whose developers build against it, and to dashboard users, as `role_required` does."""
    by_role = role_required("view_dashboard")(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Only a bearer token counts: a proxy's Basic credentials leave the session to decide.
        if not request.headers.get("Authorization", "").lower().startswith("bearer "):
            return by_role(request, *args, **kwargs)
        try:
            READ(request)
        except ApiError as error:
            return error_response(api, request, error)
        return view(request, *args, **kwargs)

    return wrapped


class IngestApi(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> dict[str, Any]:
        """The document, with the contact fields as the mapping in force checks them."""
        document = super().get_openapi_schema(**kwargs)
        yes_no = yes_no_sources()
        schemas = document["components"]["schemas"]
        schemas["ContactFields"] = contact_fields_schema(yes_no_fields=yes_no, in_batch=False)
        schemas["BatchContact"] = contact_fields_schema(yes_no_fields=yes_no, in_batch=True)
        # Any item is taken into the batch and answered on its own; a contact is what succeeds.
        batch_items = {"anyOf": [{"$ref": "#/components/schemas/BatchContact"}, {}]}
        schemas["BatchIn"]["properties"]["contacts"]["items"] = batch_items
        return document


ExternalId = Annotated[
    str,
    param.Path(
        pattern=EXTERNAL_ID_PATTERN,
        description=external_id_schema()["description"],
        example=external_id_schema()["examples"][0],
    ),
]

api = IngestApi(
    title="spotlersync ingest API",
    version="1",
    description=(
        "How the linked system (webshop or CRM) sends contacts and orders, and reads what came "
        "back from Spotler. Errors are `{error, detail, fields}`."
    ),
    urls_namespace="api",
    renderer=EscapingRenderer(),
    parser=StrictJsonParser(),
    docs=SelfContainedSwagger(),
    docs_decorator=for_token_or_role,
)
install_error_handlers(api)


def contact_state(contact: Contact, *, external_id: str, changed: bool | None = None) -> dict:
    # An erased contact no longer holds its external id; the caller named it, so echo it.
    return {
        "external_id": external_id,
        "changed": changed,
        "fields": contact.fields,
        "email": contact.email,
        "language": contact.language,
        "account_manager": contact.account_manager,
        "sync_status": contact.sync_status,
        "sync_error": contact.sync_error,
        "shares_address_with": held_twin_external_id(contact),
        "synced_at": contact.synced_at,
        "changed_at": contact.changed_at,
        "created_at": contact.created_at,
        "first_purchase_at": contact.first_purchase_at,
        "last_purchase_at": contact.last_purchase_at,
        "inactivated_at": contact.inactivated_at,
        "erased_at": contact.erased_at,
    }


def held_twin_external_id(contact: Contact) -> str | None:
    """The contact whose address held this one for review (identity/guard.py): read only for a
    contact that has one (an erased contact keeps nothing of the kind)."""
    if not contact.held_twin_id or contact.erased_at:
        return None
    twin = Contact.objects.filter(pk=contact.held_twin_id).values_list("external_id", flat=True)
    return twin.first()


@api.post("/contacts/batch", auth=WRITE, response={202: BatchOut, **ERRORS}, url_name="batch")
def post_batch(request: HttpRequest, payload: BatchIn) -> HttpResponse:
    """Create or replace up to 1,000 contacts; each item is accepted or rejected on its own.

    Items apply in order, as PUTs one after the other would: the same external id twice ends
    with the later item's fields (the later one answers `changed: false` if it repeats the first).
    """
    if len(payload.contacts) > batch.MAX_BATCH:
        detail = (
            f"A batch holds at most {batch.MAX_BATCH} contacts; this one has "
            f"{len(payload.contacts)}. Split it and send the parts one after the other."
        )
        raise ApiError(413, "batch_too_large", detail)
    results = [batch_item(result) for result in batch.upsert_contacts(items=payload.contacts)]
    accepted = sum(1 for result in results if result["status"] == "accepted")
    body = {"accepted": accepted, "rejected": len(results) - accepted, "results": results}
    # Built in `BatchOut`'s shape (every key, null where it has nothing): validating a 1,000-item
    # answer against the model would cost ten times as much as writing it.
    return api.create_response(request, body, status=202)


def batch_item(result: batch.BatchItemResult) -> dict:
    item = {"index": result.index, "external_id": result.external_id}
    if result.error is not None:
        error = result.error
        body = error_body(error.code, error.detail, error.fields)
        return {
            **item,
            "status": "rejected",
            "changed": None,
            "sync_status": None,
            "error": {**body, "status": ingest_error_status(error)},
        }
    outcome = result.outcome
    return {
        **item,
        "status": "accepted",
        "changed": outcome.changed,
        "sync_status": outcome.contact.sync_status,
        "error": None,
    }


@api.put(
    "/contacts/{external_id}",
    auth=WRITE,
    response={202: ContactOut, **ERRORS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ContactFields"}}
            },
        }
    },
    url_name="contact",
)
def put_contact(request: HttpRequest, external_id: ExternalId, payload: Body[Any]) -> Status:
    """Create or replace the contact's source fields. A replay answers `changed: false`.

    A contact that was erased by DELETE cannot be re-created: 409 `contact_erased`.
    """
    outcome = ingest.upsert_contact(external_id=external_id, raw_fields=payload)
    return Status(
        202, contact_state(outcome.contact, external_id=external_id, changed=outcome.changed)
    )


@api.get(
    "/contacts/{external_id}", auth=READ, response={200: ContactOut, **ERRORS}, url_name="contact"
)
def get_contact(request: HttpRequest, external_id: ExternalId) -> Status:
    """The ledger state: source fields, Spotler sync status, Spotler's last error.

    A contact erased by DELETE answers with its tombstone: `erased_at` set, no personal data.
    """
    return Status(
        200, contact_state(ingest.find_contact(external_id=external_id), external_id=external_id)
    )


@api.delete(
    "/contacts/{external_id}", auth=WRITE, response={202: ContactOut, **ERRORS}, url_name="contact"
)
def delete_contact(request: HttpRequest, external_id: ExternalId) -> Status:
    """The customer was deleted: anonymize in Spotler, erase here. A replay is a no-op."""
    outcome = ingest.erase_contact(external_id=external_id)
    return Status(
        202, contact_state(outcome.contact, external_id=external_id, changed=outcome.changed)
    )


@api.post(
    "/contacts/{external_id}/inactivate",
    auth=WRITE,
    response={202: ContactOut, **ERRORS},
    url_name="contact-inactivate",
)
def inactivate_contact(request: HttpRequest, external_id: ExternalId) -> Status:
    """Blacklist the contact in Spotler. A replay is a no-op."""
    outcome = ingest.inactivate_contact(external_id=external_id)
    return Status(
        202, contact_state(outcome.contact, external_id=external_id, changed=outcome.changed)
    )


@api.post("/orders", auth=WRITE, response={202: OrderResultOut, **ERRORS}, url_name="orders")
def post_order(request: HttpRequest, payload: OrderIn) -> Status:
    """Record an order; keeps the contact's first and last purchase dates."""
    outcome = ingest.record_order(
        external_id=payload.external_id,
        contact_external_id=payload.contact_external_id,
        ordered_at=payload.date,
        value=payload.value,
    )
    order = {
        "external_id": outcome.order.external_id,
        "contact_external_id": payload.contact_external_id,
        "date": outcome.order.ordered_at,
        "value": outcome.order.value,
    }
    contact = contact_state(outcome.contact, external_id=payload.contact_external_id)
    return Status(202, {"changed": outcome.changed, "order": order, "contact": contact})


@api.get("/changes", auth=READ, response={200: ChangesOut, **ERRORS}, url_name="changes")
def get_changes(request: HttpRequest, query: Query[ChangesQuery]) -> Status:
    """What came back from Spotler, oldest first. Resume with `after=<next_cursor>`."""
    changes = feed.read_changes(after=query.after, limit=query.limit)
    items = [
        {
            "cursor": change.id,
            "kind": change.kind,
            "external_id": change.external_id,
            "payload": change.payload,
            "created_at": change.created_at,
        }
        for change in changes
    ]
    next_cursor = changes[-1].id if changes else query.after
    return Status(200, {"changes": items, "next_cursor": next_cursor})


# Temporary lists (lists/api.py), with the same tokens; added last, as the document lists them.
api.add_router("/lists", build_lists_router(read=READ, write=WRITE))
