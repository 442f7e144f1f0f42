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


def explain(error: spotler.SpotlerError) -> str:
    """'<what it means> Spotler said: <Spotler's own words>'."""
    meaning = EXPLANATIONS.get(error.error_type or "")
    if meaning is None and error.status in (401, 403):
        meaning = EXPLANATIONS["NOT_AUTHORIZED"]
    if meaning is None:
        meaning = (
            "Spotler could not take the change."
            if error.permanent
            else ("Spotler could not be reached; it will be tried again.")
        )
    return f"{meaning} Spotler said: {error}"


def explain_batch_code(code: str, message: str) -> str:
    meaning = EXPLANATIONS.get(code, "Spotler could not take the change.")
    return f"{meaning} Spotler said: {code}: {message}".strip()
