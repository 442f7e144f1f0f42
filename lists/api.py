"""Temporary lists through the ingest API (`/api/v1/lists`): the linked system names the
contacts of a selection only it can make; the same selection, budget and deletes as the lists
pages (lists/selection.py, lists/budget.py, lists/lifecycle.py).

A list is addressed by its id in Spotler (`spotlersync-…` for ours), so other systems' lists,
which the ledger does not hold, can be shown and named too.
"""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.params import functions as param
from ninja.security import HttpBearer
from pydantic import AwareDatetime, BeforeValidator, ConfigDict, WithJsonSchema, field_validator

import spotler
from contacts.api_errors import ApiError
from contacts.api_schemas import ERRORS, NO_CONTROL_CHARACTERS, ErrorOut, read_date_time
from contacts.models import EXTERNAL_ID_PATTERN
from lists import budget, lifecycle, refresh
from lists.models import LIST_ID_PREFIX, TempList
from lists.selection import INCLUDABLE, LEFT_OUT_REASONS, select_ids
from spotlersync.moments import EARLIEST_YEAR, LATEST_YEAR, YEAR_PATTERN, moment_range_problem
from sync.spotler_connection import waiting_client

MAX_IDS = 100_000
# A list id in Spotler: ours are `spotlersync-` and 12 hex digits; other systems' are theirs.
LIST_ID_PATTERN = r"^[^\x00-\x20\x7F-\x9F/]{1,100}$"
OTHER_SYSTEM = "other_system"
LIST_ERRORS = {**ERRORS, 503: ErrorOut}
# A moment as the orders' `date` is read (contacts/api_schemas.py), with an example to come.
EndMoment = Annotated[
    AwareDatetime,
    BeforeValidator(read_date_time),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": YEAR_PATTERN,
            "description": f"With its offset; the year from {EARLIEST_YEAR} to {LATEST_YEAR}, "
            "as written and in UTC; in the future.",
            "examples": ["2099-12-31T18:00:00+01:00"],
        }
    ),
]


class ListIn(Schema):
    # A field the call does not know is refused: `filters` would otherwise be ignored in silence
    # and a developer believe a list was filtered.
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        ...,
        min_length=1,
        max_length=budget.MAX_NAME_LENGTH,
        pattern=NO_CONTROL_CHARACTERS,
        description=(
            f"Shown in Spotler when a mailing is addressed; 1 to {budget.MAX_NAME_LENGTH} "
            "characters, not only spaces, no control characters; unique among the account's "
            "temporary lists."
        ),
        json_schema_extra={"allOf": [{"pattern": r"\S"}], "examples": ["Guests 12 December"]},
    )
    external_ids: list[Annotated[str, Field(pattern=EXTERNAL_ID_PATTERN)]] = Field(
        ...,
        description=(
            f"The contacts of the list, as external ids: at most {MAX_IDS:,}; an id named "
            "twice counts once. Contacts inactive, anonymized, with every permission off, or "
            "whose push to Spotler failed are left out (counted by reason); contacts not yet in "
            "Spotler are pushed first; ids the ledger does not know are answered in "
            "`unknown_ids`."
        ),
        json_schema_extra={"maxItems": MAX_IDS, "examples": [["C1001", "C1002"]]},
        min_length=1,
    )
    expires_at: EndMoment | None = Field(
        None,
        description=(
            "When the list is deleted from Spotler, ISO 8601 with its offset, in the future; "
            "by default in the number of days LISTS_DEFAULT_EXPIRY_DAYS says (30)."
        ),
    )
    include: list[Literal[tuple(INCLUDABLE)]] = Field(  # type: ignore[valid-type]
        default_factory=list,
        description=(
            "Groups left out by default that this list includes on purpose: "
            + "; ".join(f"`{group}`: {words}" for group, words in INCLUDABLE.items())
            + ". Erased and anonymized contacts and those Spotler refused are always left out."
        ),
        json_schema_extra={"examples": [["inactive"]]},
    )

    @field_validator("name")
    @classmethod
    def name_has_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Give the list a name that is not only spaces")
        return value.strip()

    @field_validator("external_ids", mode="before")
    @classmethod
    def not_too_many(cls, value: Any) -> Any:
        if isinstance(value, list) and len(value) > MAX_IDS:
            raise ValueError(
                f"A list holds at most {MAX_IDS:,} contacts; this one names {len(value):,}. "
                "Narrow the selection, or make two lists"
            )
        return value


class ListCountsOut(Schema):
    total: int = Field(..., description="Contacts in the list once it is complete.")
    sent: int = Field(..., description="Contacts added in Spotler so far.")
    to_push: int = Field(
        ...,
        description=(
            "Contacts of the list not yet in Spotler, waiting to be pushed before the list "
            "names them (state `pushing`)."
        ),
    )
    pushed_first: int = Field(
        ..., description="Contacts that were pushed to Spotler first, for this list."
    )
    left_out: dict[str, int] = Field(
        ..., description="Contacts named but left out, by reason: " + ", ".join(LEFT_OUT_REASONS)
    )
    unknown_ids: int = Field(..., description="Ids named that the ledger does not know.")


class ListOut(Schema):
    id: str = Field(..., description="The list's id in Spotler (ours start with spotlersync-).")
    name: str
    ours: bool = Field(..., description="False for another system's list: only it can delete it.")
    state: str = Field(
        ...,
        description=(
            "draft, pushing (contacts not yet in Spotler are pushed first), sending, complete, "
            "failed (Spotler's reason in `error`; resumed from the lists page), deleting, "
            "delete_pending_in_use (retried while a mailing uses it), "
            f"deleted; `{OTHER_SYSTEM}` for another system's list."
        ),
    )
    created_at: datetime | None
    expires_at: datetime | None
    error: str = ""
    counts: ListCountsOut | None = Field(None, description="Ours only.")
    unknown_ids: list[str] | None = Field(
        None, description="On one list of ours: the ids the ledger does not know."
    )
    refreshed_at: datetime | None = Field(None, description="Ours: when it was last refreshed.")
    replaces: str | None = Field(
        None,
        description=(
            "Ours: the `id` of the list this one replaces (a refresh where contacts had to "
            "leave); that list is deleted once this one is complete."
        ),
    )
    replaced_by: str | None = Field(
        None, description="Ours: the `id` of the list that replaces this one (see `replaces`)."
    )


class BudgetOut(Schema):
    limit: int = Field(..., description="Temporary lists the Spotler account may hold at once.")
    in_use: int = Field(..., description="Lists in the account now, every system's.")
    free: int
    lists: list[ListOut]


ListId = Annotated[
    str,
    param.Path(
        pattern=LIST_ID_PATTERN,
        description="The list's `id`, as GET /lists answers it.",
        example=f"{LIST_ID_PREFIX}0123456789ab",
    ),
]


def unavailable(error: spotler.SpotlerError) -> ApiError:
    """Spotler could not be reached, or refused our own call (its credentials, say): the list
    service is unavailable until it answers, whatever the caller sends."""
    if error.permanent:
        detail = (
            f"Spotler refused to tell us about its temporary lists ({error}); nothing was "
            "changed. An Admin must check the Spotler connection (the Health page)."
        )
        return ApiError(503, "spotler_refused", detail)
    detail = (
        f"Spotler could not be asked about its temporary lists ({error}); nothing was changed. "
        "Send the same call again in a minute."
    )
    return ApiError(503, "spotler_unavailable", detail, headers={"Retry-After": "60"})


def our_list(found: TempList, *, full: bool = False) -> dict[str, Any]:
    return {
        "id": found.spotler_id,
        "name": found.name,
        "ours": True,
        "state": found.state,
        "created_at": found.created_at,
        "expires_at": found.expires_at,
        "error": found.error,
        "counts": {
            "total": found.total,
            "sent": found.sent,
            "to_push": found.to_push,
            "pushed_first": found.pushed_first,
            "left_out": {reason: found.left_out.get(reason, 0) for reason in LEFT_OUT_REASONS},
            "unknown_ids": len(found.unknown_ids),
        },
        "unknown_ids": list(found.unknown_ids) if full else None,
        "refreshed_at": found.refreshed_at,
        "replaces": found.replaces.spotler_id if found.replaces_id else None,
        "replaced_by": getattr(getattr(found, "replaced_by", None), "spotler_id", None),
    }


def account_list(item: budget.AccountList) -> dict[str, Any]:
    if item.ours is not None:
        return our_list(item.ours)
    return {
        "id": item.spotler_id or "",
        "name": item.name,
        "ours": item.is_ours,
        "state": OTHER_SYSTEM if not item.is_ours else "unknown",
        "created_at": item.created_at,
        "expires_at": None,
        "error": "",
        "counts": None,
        "unknown_ids": None,
        "refreshed_at": None,
        "replaces": None,
        "replaced_by": None,
    }


def find_in_account(list_id: str) -> budget.AccountList | None:
    try:
        seen = budget.read_budget(client=waiting_client())
    except spotler.SpotlerError as error:
        raise unavailable(error) from None
    return next((item for item in seen.lists if item.spotler_id == list_id), None)


def not_found(list_id: str) -> ApiError:
    detail = f"There is no temporary list “{list_id}”; GET /api/v1/lists names them all."
    return ApiError(404, "list_not_found", detail)


def not_ours_or_missing(list_id: str, *, action: str) -> ApiError:
    """The error for a list the ledger does not hold: another system's (403), or none (404)."""
    item = find_in_account(list_id)
    if item is None:
        return not_found(list_id)
    detail = {
        "delete": "Spotler lets only the system that made a temporary list delete it.",
        "refresh": "only lists made here can be refreshed (we hold their selection).",
    }[action]
    return ApiError(
        403, "not_our_list", f"“{item.name}” ({list_id}) was made by another system; {detail}"
    )


def build_router(*, read: HttpBearer, write: HttpBearer) -> Router:
    """The routes, with the ingest API's tokens (read to look, write to make and delete)."""
    router = Router(tags=["temporary lists"])

    @router.post("", auth=write, response={202: ListOut, **LIST_ERRORS}, url_name="lists")
    def post_list(request: HttpRequest, payload: ListIn) -> Status:
        """Make a temporary list of the contacts named and send them to Spotler on the queue.

        Answers at once with the counts: `state` goes draft → pushing (contacts not yet in
        Spotler, `counts.to_push`, are pushed first) → sending → complete (follow it with GET).
        A contact whose push Spotler refuses is left out (`left_out.push_failed`). Refused with
        409 `list_budget_exhausted` when every slot of the budget is taken (the detail names
        our oldest lists), 409 `list_name_taken` for a name in use, 422 `empty_selection` when
        none of the ids named can be in the list (nothing is made: it would take a slot).
        """
        if payload.expires_at is not None:
            problem = moment_range_problem(payload.expires_at, name="expires_at")
            if problem is None and payload.expires_at <= timezone.now():
                problem = "expires_at must be in the future."
            if problem:
                raise ApiError(
                    422,
                    "invalid_fields",
                    "Correct `expires_at` and send again; `fields` says what is wrong.",
                    fields={"expires_at": problem},
                )
        include = tuple(dict.fromkeys(payload.include))
        selection, unknown = select_ids(payload.external_ids, include=include)
        if not selection.ids:
            # A list of nobody would take one of the account's few slots for nothing.
            left = ", ".join(f"{n} {reason}" for reason, n in selection.left_out.items() if n)
            why = "; ".join(
                part for part in (f"{len(unknown)} unknown" if unknown else "", left) if part
            )
            raise ApiError(
                422,
                "empty_selection",
                "None of the ids named can be in the list"
                + (f" ({why})" if why else "")
                + "; nothing was made. Name contacts the ledger holds that may be mailed.",
                fields={"external_ids": "No contact of these can be sent."},
            )
        try:
            made = budget.create_list(
                name=payload.name,
                contact_ids=selection.ids,
                left_out=selection.left_out,
                unknown_ids=unknown,
                named_ids=list(dict.fromkeys(payload.external_ids)),
                filters={"include": list(include)} if include else {},
                created_via="api",
                # In UTC: PostgreSQL stores no offset beyond ±15:59, which ISO 8601 allows.
                expires_at=payload.expires_at.astimezone(UTC) if payload.expires_at else None,
                to_push=selection.not_in_spotler,
                client=waiting_client(),
                actor=request.auth,
            )
        except budget.BudgetExhausted as full:
            raise ApiError(409, "list_budget_exhausted", str(full)) from None
        except budget.ListRefused as refused:
            cause = refused.__cause__
            if isinstance(cause, spotler.SpotlerError) and not cause.permanent:
                raise unavailable(cause) from None
            taken = "exists already" in str(refused) or (
                isinstance(cause, spotler.SpotlerError)
                and cause.error_type == "NAME_ALREADY_IN_USE"
            )
            code = "list_name_taken" if taken else "list_refused"
            raise ApiError(409 if code == "list_name_taken" else 422, code, str(refused)) from None
        except spotler.SpotlerError as error:
            raise unavailable(error) from None
        return Status(202, our_list(made, full=True))

    @router.get("", auth=read, response={200: BudgetOut, **LIST_ERRORS}, url_name="lists")
    def get_lists(request: HttpRequest) -> Status:
        """Every temporary list of the Spotler account against the budget: ours with their
        state and counts, other systems' marked `ours: false`."""
        try:
            seen = budget.read_budget(client=waiting_client())
        except spotler.SpotlerError as error:
            raise unavailable(error) from None
        body = {
            "limit": seen.limit,
            "in_use": seen.in_use,
            "free": seen.free,
            "lists": [account_list(item) for item in seen.lists],
        }
        return Status(200, body)

    @router.get("/{list_id}", auth=read, response={200: ListOut, **LIST_ERRORS}, url_name="list")
    def get_list(request: HttpRequest, list_id: ListId) -> Status:
        """One list: ours with its state and counts (also once deleted), or another system's."""
        found = TempList.objects.filter(spotler_id=list_id).first()
        if found is not None:
            return Status(200, our_list(found, full=True))
        item = find_in_account(list_id)
        if item is None:
            raise not_found(list_id)
        return Status(200, account_list(item))

    @router.post(
        "/{list_id}/refresh",
        auth=write,
        response={202: ListOut, **LIST_ERRORS},
        url_name="list-refresh",
    )
    def refresh_list(request: HttpRequest, list_id: ListId) -> Status:
        """Make one of our lists' selection again, from the ids it was made with (or the
        filters of a list made on the lists page). Spotler can only add to a list: when only
        new contacts are found they are added, and the answer is the list itself (`state`
        draft, then sending and complete). When contacts must leave (unsubscribed, inactive,
        erased) the list is replaced: the answer is the new list, named after the old one with
        "(refreshed …)" and with `replaces` naming the old one, which is deleted once the new
        one is complete. A replacement needs one free slot of the budget: 409
        `list_budget_exhausted` when there is none (nothing is changed). Only a complete list
        can be refreshed: 409 `list_not_complete` otherwise, 409 `list_being_replaced` for a
        list already being replaced; another system's list is 403 `not_our_list`."""
        found = TempList.objects.filter(spotler_id=list_id).first()
        if found is None:
            raise not_ours_or_missing(list_id, action="refresh")
        refusal = refresh.refresh_refusal(found)
        if refusal:
            code = "list_not_complete" if found.state != "complete" else "list_being_replaced"
            raise ApiError(409, code, refusal)
        try:
            outcome = refresh.refresh_list(
                list_pk=found.pk, created_via="api", client=waiting_client(), actor=request.auth
            )
        except budget.BudgetExhausted as full:
            raise ApiError(409, "list_budget_exhausted", str(full)) from None
        except refresh.RefreshRefused as refused:
            found.refresh_from_db()
            code = "list_not_complete" if found.state != "complete" else "list_being_replaced"
            raise ApiError(409, code, str(refused)) from None
        except budget.ListRefused as refused:
            cause = refused.__cause__
            if isinstance(cause, spotler.SpotlerError) and not cause.permanent:
                raise unavailable(cause) from None
            raise ApiError(409, "list_refused", str(refused)) from None
        except spotler.SpotlerError as error:
            raise unavailable(error) from None
        return Status(202, our_list(outcome.refreshed, full=True))

    @router.delete(
        "/{list_id}", auth=write, response={202: ListOut, **LIST_ERRORS}, url_name="list"
    )
    def delete_list(request: HttpRequest, list_id: ListId) -> Status:
        """Delete one of our lists: `state` becomes deleting, then deleted; while a mailing uses
        the list, delete_pending_in_use (retried automatically). Another system's list is
        refused (403 `not_our_list`); a list still sending, 409 `list_busy`."""
        found = TempList.objects.filter(spotler_id=list_id).first()
        if found is None:
            raise not_ours_or_missing(list_id, action="delete")
        if found.state in ("deleted", "deleting"):
            return Status(202, our_list(found))
        if not lifecycle.request_delete(list_pk=found.pk, actor=request.auth):
            detail = (
                f"“{found.name}” is {found.get_state_display().lower()}; delete it once "
                "sending has ended (GET it to follow)."
            )
            raise ApiError(409, "list_busy", detail)
        found.refresh_from_db()
        return Status(202, our_list(found))

    return router
