"""What the ledger's operations refuse, each with a code and a sentence a person can act on.

The API turns these into its JSON error shape (`contacts.api_errors`); any other way in (the CSV
import, the admin) can show `detail` as it is.
"""

# The key in `fields` for a problem with the body as a whole (field names cannot start with _).
BODY = "_body"


class IngestError(Exception):
    code = "invalid"

    def __init__(self, detail: str, *, fields: dict[str, str] | None = None) -> None:
        self.detail = detail
        self.fields = fields or {}
        super().__init__(detail)


class InvalidFields(IngestError):
    """The data cannot be accepted; `fields` maps each field to what is wrong with it."""

    code = "invalid_fields"

    def __init__(self, fields: dict[str, str]) -> None:
        names = ", ".join(f"`{name}`" if name != BODY else "the body" for name in sorted(fields))
        super().__init__(
            f"Correct {names} and send again; `fields` says what is wrong.", fields=fields
        )


class ContactNotFound(IngestError):
    code = "contact_not_found"

    def __init__(self, external_id: str) -> None:
        super().__init__(
            f"No contact with external id “{external_id}”; create it with "
            f"PUT /api/v1/contacts/{external_id} first."
        )


class ContactErased(IngestError):
    code = "contact_erased"

    def __init__(self, external_id: str) -> None:
        super().__init__(
            f"Contact “{external_id}” was deleted and its personal data erased; it cannot be "
            "re-created or changed under the same external id. Use a new external id."
        )


class OrderConflict(IngestError):
    code = "order_conflict"

    def __init__(self, external_id: str) -> None:
        super().__init__(
            f"Order “{external_id}” is already recorded with a different contact, date or value; "
            "orders cannot be changed. Send a correction as a new order with its own id."
        )
