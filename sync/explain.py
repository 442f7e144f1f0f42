"""Spotler's errors in plain words, for the people who have to act on them."""

import spotler

EXPLANATIONS = {
    "INVALID_PARAMS": "Spotler refused a value we sent. Fix it in the shop or the mapping.",
    "INVALID_PROPERTY": "Spotler does not accept one of the mapped properties. Check the mapping.",
    "PROPERTY_INVALID": "Spotler refused one of the property values. Check the mapping.",
    "CONTACT_OPTOUT": "The contact opted out in Spotler, which refuses changes to it.",
    "NO_ACTIVE_CHANNEL": "The contact has no active e-mail channel in Spotler.",
    "CONTACT_NOT_FOUND": "Spotler does not know this contact.",
    "CONTACT_UNKNOWN": "Spotler does not know this contact.",
    "NOT_AUTHORIZED": (
        "Spotler refused our credentials. An Admin should check SPOTLER_CONSUMER_KEY and "
        "SPOTLER_CONSUMER_SECRET."
    ),
    "INVALID_STATE": "Spotler cannot do this in the contact's current state.",
}


def explain(error: spotler.SpotlerError, *, refused: list[str] | tuple[str, ...] = ()) -> str:
    """Spotler's own words first, said once; then the value it refused, when that can be known
    (sync/refused_values.py); then what it means for whoever has to act."""
    return " ".join(
        part for part in (spotler_words(error), _refused(refused), meaning(error)) if part
    )


def spotler_words(error: spotler.SpotlerError) -> str:
    """'Spotler: “Property is invalid” (400 INVALID_PARAMS).' or, without an answer, ours."""
    if error.status is None:
        return _sentence(error.message)
    code = " ".join(str(part) for part in (error.status, error.error_type) if part)
    return f"Spotler: “{error.message}” ({code})."


def meaning(error: spotler.SpotlerError) -> str:
    found = EXPLANATIONS.get(error.error_type or "")
    if found is None and error.status in (401, 403):
        found = EXPLANATIONS["NOT_AUTHORIZED"]
    if found is not None:
        return found
    if error.permanent:
        return "Spotler could not take the change."
    if error.status is None:
        return "It will be tried again."
    return "Spotler could not be reached; it will be tried again."


def explain_batch_code(
    code: str, message: str, *, refused: list[str] | tuple[str, ...] = ()
) -> str:
    words = f"Spotler: “{message}” ({code})." if message else f"Spotler: {code}."
    found = EXPLANATIONS.get(code, "Spotler could not take the change.")
    return " ".join(part for part in (words, _refused(refused), found) if part)


def _refused(refused: list[str] | tuple[str, ...]) -> str:
    if not refused:
        return ""
    return (
        ("Refused value: " if len(refused) == 1 else "Refused values: ") + "; ".join(refused) + "."
    )


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…")) else f"{text}."
