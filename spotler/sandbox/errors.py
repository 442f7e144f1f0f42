"""How the sandbox refuses a call: an `ErrorResponse` with Spotler's words (spotler-api.md §2.5)."""


class ApiError(Exception):
    """A refusal that becomes `{"errorType": ..., "message": ...}` with an HTTP status."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(status, error_type, message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = headers

    def as_body(self) -> dict[str, str]:
        return {"errorType": self.error_type, "message": self.message}


def invalid_params(message: str) -> ApiError:
    return ApiError(400, "INVALID_PARAMS", message)


def invalid_state(message: str) -> ApiError:
    return ApiError(400, "INVALID_STATE", message)


def contact_not_found() -> ApiError:
    # Spotler's text for every unknown externalId (spotler-api.md §5.3, §5.4, §9).
    return ApiError(404, "CONTACT_NOT_FOUND", "Given contact not found")


def resource_not_found(message: str) -> ApiError:
    return ApiError(404, "RESOURCE_NOT_FOUND", message)


def not_authorized(message: str) -> ApiError:
    return ApiError(401, "NOT_AUTHORIZED", message)
