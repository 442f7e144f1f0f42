"""What a visitor sends to a subscribe form, checked: the e-mail address by our one rule
(spotlersync/email_addresses.py) and each extra field by its Spotler property's type, with the
conversions the mapping uses (mapping/render.py `converter_for_type`). Every problem is a
sentence that says what to fix, keyed by the field it belongs to."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings

from mapping.conversions import ConversionError, is_empty
from mapping.models import SpotlerProperty
from mapping.render import PropertyType, converter_for_type
from public.models import SubscribeForm
from spotlersync.email_addresses import email_address_problem

EMAIL_FIELD = "email"
# The field people never see (hidden by CSS, skipped by keyboard and screen readers) and bots
# fill in; named like something a form might ask, so a bot does not pass it by.
HONEYPOT_FIELD = "website"
# Types a visitor cannot type in a text box (the e-mail address is the form's own field).
UNASKABLE_TYPES = {PropertyType.SET, PropertyType.EMAIL}
# What a visitor is told a type wants, next to the field.
TYPE_HINTS = {
    PropertyType.INT: "a whole number",
    PropertyType.MONEY: "an amount, e.g. 12.50",
    PropertyType.DATE: "a date, e.g. 2026-03-31",
    PropertyType.BIRTHDATE: "a date, e.g. 1990-03-31",
    PropertyType.DATETIME: "a date and time, e.g. 2026-03-31 14:30",
    PropertyType.GENDER: "M or F",
}
INPUT_TYPES = {
    PropertyType.INT: "number",
    PropertyType.DATE: "date",
    PropertyType.BIRTHDATE: "date",
    PropertyType.MOBNR: "tel",
}


@dataclass(frozen=True)
class AskedField:
    """One extra field of a form, with its Spotler type (from the stored catalogue)."""

    property: str
    label: str
    required: bool
    type: str

    @property
    def hint(self) -> str:
        return TYPE_HINTS.get(self.type, "")

    @property
    def input_type(self) -> str:
        return INPUT_TYPES.get(self.type, "text")


@dataclass
class Submission:
    email: str = ""
    properties: dict = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    honeypot: bool = False


def asked_fields(form: SubscribeForm) -> list[AskedField]:
    """The form's extra fields with their types; a property the catalogue does not hold (or
    before its first refresh) is text. One small query, and none for a form asking nothing."""
    names = [extra["property"] for extra in form.extra_fields]
    types = (
        dict(SpotlerProperty.objects.present().filter(name__in=names).values_list("name", "type"))
        if names
        else {}
    )
    return [
        AskedField(
            property=extra["property"],
            label=extra.get("label") or extra["property"],
            required=bool(extra.get("required")),
            type=types.get(extra["property"], PropertyType.STRING),
        )
        for extra in form.extra_fields
    ]


def read_submission(form: SubscribeForm, data: Mapping[str, object], *, strict: bool) -> Submission:
    """The checked e-mail address and extra fields of one submission. `strict` (the JSON
    endpoint): a field the form does not ask is a problem; the page ignores other keys."""
    submission = Submission(honeypot=not is_empty(data.get(HONEYPOT_FIELD)))
    fields = asked_fields(form)
    if strict:
        known = {EMAIL_FIELD, HONEYPOT_FIELD, *(f.property for f in fields)}
        for name in data:
            if name not in known:
                submission.problems[str(name)[:100]] = (
                    "This form does not ask for this field; send only: "
                    + ", ".join(sorted(known - {HONEYPOT_FIELD}))
                    + "."
                )
    submission.email = _read_email(data.get(EMAIL_FIELD), submission.problems)
    tz = ZoneInfo(settings.TIME_ZONE)
    for asked in fields:
        value = data.get(asked.property)
        if is_empty(value):
            if asked.required:
                submission.problems[asked.property] = f"Please fill in {asked.label}."
            continue
        if strict and not _json_type_fits(asked.type, value):
            kind = "a number" if asked.type in NUMBER_TYPES else "text (a JSON string)"
            submission.problems[asked.property] = f"{asked.label}: send it as {kind}."
            continue
        try:
            converted = converter_for_type(asked.type, tz=tz)(value)
        except ConversionError as error:
            hint = f" Please enter {asked.hint}." if asked.hint else ""
            submission.problems[asked.property] = f"{asked.label}: {_visitor_words(error)}.{hint}"
            continue
        submission.properties[asked.property] = converted
    return submission


# JSON numbers are taken for these; every other type is text, sent as a JSON string.
NUMBER_TYPES = {PropertyType.INT, PropertyType.MONEY}


def _json_type_fits(kind: str, value: object) -> bool:
    """A JSON value of the kind the property takes: never true/false, a list or an object; a
    number only for a number property (text, e.g. "12.50", is read there too)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return False
    return isinstance(value, str) or kind in NUMBER_TYPES


def _read_email(value: object, problems: dict[str, str]) -> str:
    if is_empty(value):
        problems[EMAIL_FIELD] = "Please fill in your e-mail address."
        return ""
    if not isinstance(value, str):
        problems[EMAIL_FIELD] = "The e-mail address must be text, e.g. anna@example.com."
        return ""
    text = value.strip()
    problem = email_address_problem(text)
    if problem:
        problems[EMAIL_FIELD] = problem
    return text


def _visitor_words(error: ConversionError) -> str:
    # The conversions speak to a marketer about "the linked system"; a visitor fixes the field.
    return str(error).replace("; remove them in the linked system", "").rstrip(".")
