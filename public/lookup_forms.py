"""The Admin's form for a lookup page: its texts, the property looked up, and which properties
a match shows (each a row of the catalogue: shown or not, its label, prefilled or plain text)."""

from dataclasses import dataclass

from django import forms

from mapping.models import SpotlerProperty
from public.models import LookupPage

MAX_LABEL_LENGTH = 200


@dataclass(frozen=True)
class PropertyRow:
    """One catalogue property on the form, with what the page does with it."""

    name: str
    type: str
    description: str
    shown: bool
    label: str
    prefill: bool


class LookupPageForm(forms.ModelForm):
    search_property = forms.ChoiceField(
        label="Property looked up",
        help_text="The Spotler property the visitor's input is searched in, e.g. a discount code.",
    )

    class Meta:
        model = LookupPage
        fields = [
            "slug", "title", "search_property", "input_label", "found_text", "not_found_text",
            "language", "enabled",
        ]  # fmt: skip
        labels = {
            "found_text": "Text when the code is found",
            "not_found_text": "Text when the code is not found (or not valid)",
            "enabled": "On: the page answers visitors",
        }
        widgets = {
            "found_text": forms.Textarea(attrs={"rows": 3}),
            "not_found_text": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.catalogue = list(SpotlerProperty.objects.present())
        names = [p.name for p in self.catalogue if p.type != "set"]
        if self.instance.search_property and self.instance.search_property not in names:
            names.append(self.instance.search_property)  # gone from Spotler: keep it visible
        self.fields["search_property"].choices = [(n, n) for n in names]
        self.property_rows = self._rows(self.data if self.is_bound else None)

    def clean(self) -> dict:
        cleaned = super().clean()
        for row in self.property_rows:
            if row.shown and len(row.label) > MAX_LABEL_LENGTH:
                self.add_error(None, f"The label of {row.name} is too long.")
        return cleaned

    def save(self, commit: bool = True) -> LookupPage:
        page = super().save(commit=False)
        page.shown_properties = [
            {"property": r.name, "label": r.label or r.name, "prefill": r.prefill}
            for r in self.property_rows
            if r.shown
        ]
        if commit:
            page.save()
        return page

    def _rows(self, data) -> list[PropertyRow]:
        configured = {item["property"]: item for item in self.instance.shown_properties or []}
        rows = []
        for p in self.catalogue:
            item = configured.get(p.name)
            if data is not None:
                shown = bool(data.get(f"show_{p.name}"))
                label = data.get(f"label_{p.name}", "").strip()
                prefill = bool(data.get(f"prefill_{p.name}"))
            else:
                shown = item is not None
                label = (item or {}).get("label") or p.description or p.name
                prefill = bool((item or {}).get("prefill"))
            rows.append(PropertyRow(p.name, p.type, p.description, shown, label, prefill))
        return rows
