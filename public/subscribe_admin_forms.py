"""The Admins' form for a subscribe form: permission bits and extra fields chosen from Spotler's
property catalogue (as the last refresh kept it), allowed origins checked one per line."""

from urllib.parse import urlsplit

from django import forms

from mapping.models import SpotlerProperty
from mapping.render import PERMISSIONS_PROPERTY
from public.models import SubscribeForm
from public.subscribe_fields import UNASKABLE_TYPES

MAX_BITS_WITHOUT_CATALOGUE = 10


def permission_choices(current: list[int]) -> list[tuple[str, str]]:
    """Each permission bit by its name in the catalogue ("1 · Newsletter"), and any bit the
    form has that the catalogue does not (still offered, so saving does not drop it)."""
    prop = SpotlerProperty.objects.present().filter(name=PERMISSIONS_PROPERTY).first()
    named = prop.bits if prop else {b: "" for b in range(1, MAX_BITS_WITHOUT_CATALOGUE + 1)}
    for bit in current:
        named.setdefault(int(bit), "not in Spotler's catalogue")
    return [(str(b), f"{b} · {named[b]}" if named[b] else f"bit {b}") for b in sorted(named)]


def askable_properties() -> list[SpotlerProperty]:
    return [p for p in SpotlerProperty.objects.present() if p.type not in UNASKABLE_TYPES]


def clean_origin(line: str) -> str:
    """ "https://shop.example.com[:port]", lower-cased, with nothing after the host."""
    text = line.strip().rstrip("/").lower()
    parts = urlsplit(text)
    if (
        parts.scheme not in ("http", "https") or not parts.hostname or parts.path
        or parts.query or parts.fragment or parts.username or parts.password
    ):  # fmt: skip
        raise forms.ValidationError(
            f"“{line.strip()}” is not an origin: write scheme://host[:port], e.g. "
            "https://shop.example.com, with no path."
        )
    try:
        parts.port  # noqa: B018 - reading it checks it
    except ValueError as error:
        raise forms.ValidationError(f"“{line.strip()}” has a port that is not a number.") from error
    return text


class SubscribeFormForm(forms.ModelForm):
    permission_bits = forms.TypedMultipleChoiceField(
        coerce=int, widget=forms.CheckboxSelectMultiple, label="Permissions it switches on",
        help_text="The Spotler permission bits a subscription sets to on.",
    )  # fmt: skip
    allowed_origins = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False,
        label="Allowed origins",
        help_text="One per line, e.g. https://shop.example.com: the sites that may post to the "
        "JSON endpoint and show the page in a frame.",
    )  # fmt: skip

    class Meta:
        model = SubscribeForm
        fields = ["slug", "title", "permission_bits", "language", "thank_you_text",
                  "allowed_origins", "enabled"]  # fmt: skip
        labels = {"enabled": "Switched on (the public page and endpoint answer)"}
        widgets = {"thank_you_text": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["permission_bits"].choices = permission_choices(self.instance.permission_bits)
        self.initial["permission_bits"] = [str(b) for b in self.instance.permission_bits]
        self.initial["allowed_origins"] = "\n".join(self.instance.allowed_origins or [])
        chosen = {f["property"]: f for f in self.instance.extra_fields}
        self.properties = askable_properties()
        self.extra_rows = []
        for prop in self.properties:
            was = chosen.get(prop.name, {})
            ask = forms.BooleanField(required=False, initial=bool(was), label=f"Ask {prop.name}")
            label = forms.CharField(
                required=False, max_length=100, initial=was.get("label") or prop.description,
                label=f"Label of {prop.name}",
                widget=forms.TextInput(attrs={"aria-label": f"Label of {prop.name}"}),
            )  # fmt: skip
            required = forms.BooleanField(
                required=False,
                initial=bool(was.get("required")),
                label=f"{prop.name} required",
                widget=forms.CheckboxInput(attrs={"aria-label": f"{prop.name} required"}),
            )
            self.fields[f"ask_{prop.name}"] = ask
            self.fields[f"label_{prop.name}"] = label
            self.fields[f"required_{prop.name}"] = required
            self.extra_rows.append(
                {"property": prop, "ask": self[f"ask_{prop.name}"],
                 "label": self[f"label_{prop.name}"], "required": self[f"required_{prop.name}"]}
            )  # fmt: skip
        # Fields asked before that the catalogue no longer has stay asked (shown as such).
        self.missing_fields = [
            f for name, f in chosen.items() if name not in {p.name for p in self.properties}
        ]

    def clean_permission_bits(self) -> list[int]:
        bits = self.cleaned_data["permission_bits"]
        if not bits:
            raise forms.ValidationError("Choose at least one permission to switch on.")
        return sorted(bits)

    def clean_allowed_origins(self) -> list[str]:
        lines = [line for line in self.cleaned_data["allowed_origins"].splitlines() if line.strip()]
        origins, problems = [], []
        for line in lines:
            try:
                origins.append(clean_origin(line))
            except forms.ValidationError as error:
                problems.extend(error.messages)
        if problems:
            raise forms.ValidationError(problems)
        return list(dict.fromkeys(origins))

    def clean(self) -> dict:
        cleaned = super().clean()
        extra = []
        for prop in self.properties:
            if cleaned.get(f"ask_{prop.name}"):
                extra.append({
                    "property": prop.name,
                    "label": (cleaned.get(f"label_{prop.name}") or prop.description
                              or prop.name).strip(),
                    "required": bool(cleaned.get(f"required_{prop.name}")),
                })  # fmt: skip
        self.instance.extra_fields = extra + self.missing_fields
        return cleaned
