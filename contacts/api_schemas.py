"""Request and response schemas of the ingest API (they make its OpenAPI document)."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema
from pydantic import AwareDatetime, ConfigDict

from contacts import batch, feed
from contacts.models import EXTERNAL_ID_PATTERN


class ContactFields(Schema):
    """The flat object of source fields. Any other field is kept too (letters, digits, _)."""

    model_config = ConfigDict(extra="allow")

    email: str = Field(..., max_length=254, examples=["anna@example.com"])
    first_name: str | None = Field(None, max_length=1000, examples=["Anna"])
    last_name: str | None = Field(None, max_length=1000, examples=["de Vries"])
    language: str | None = Field(None, max_length=35, examples=["nl"])
    account_manager: str | None = Field(None, max_length=200, examples=["jan@shop.example"])
    newsletter: bool | None = Field(None, examples=[True])


class ContactOut(Schema):
    external_id: str
    changed: bool | None = Field(None, description="On writes: false when it was a replay.")
    fields: dict[str, Any]
    email: str
    language: str
    account_manager: str
    sync_status: str
    sync_error: str
    synced_at: datetime | None
    changed_at: datetime
    created_at: datetime
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    inactivated_at: datetime | None
    erased_at: datetime | None


class ErrorOut(Schema):
    error: str
    detail: str
    fields: dict[str, str]


class BatchIn(Schema):
    contacts: list[Any] = Field(
        ..., description=f"Up to {batch.MAX_BATCH} objects, each with its `external_id`."
    )


class BatchItemErrorOut(ErrorOut):
    status: int = Field(
        ..., description="The status this item alone would have been answered with."
    )


class BatchItemOut(Schema):
    index: int
    external_id: Any
    status: str = Field(..., description="`accepted` or `rejected`")
    changed: bool | None = None
    sync_status: str | None = None
    error: BatchItemErrorOut | None = None


class BatchOut(Schema):
    accepted: int
    rejected: int
    results: list[BatchItemOut]


class OrderIn(Schema):
    external_id: str = Field(..., pattern=EXTERNAL_ID_PATTERN)
    contact_external_id: str = Field(..., pattern=EXTERNAL_ID_PATTERN)
    date: AwareDatetime = Field(..., examples=["2026-11-22T10:00:00+01:00"])
    value: Decimal = Field(..., max_digits=12, decimal_places=2, examples=["49.95"])


class OrderOut(Schema):
    external_id: str
    contact_external_id: str
    date: datetime
    value: Decimal


class OrderResultOut(Schema):
    changed: bool
    order: OrderOut
    contact: ContactOut


class ChangeOut(Schema):
    cursor: int
    kind: str
    external_id: str
    payload: dict[str, Any]
    created_at: datetime


class ChangesOut(Schema):
    changes: list[ChangeOut]
    next_cursor: int = Field(..., description="Pass as `after` next time.")


class ChangesQuery(Schema):
    after: int = Field(
        0, ge=0, le=2**63 - 1, description="The last cursor you processed; 0 to start."
    )
    limit: int = Field(feed.DEFAULT_LIMIT, ge=1, le=feed.MAX_LIMIT)


ERRORS = {code: ErrorOut for code in (400, 401, 403, 404, 409, 413, 422, 429)}
