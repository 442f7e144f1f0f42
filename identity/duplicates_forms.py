from django import forms

from identity.duplicates import KINDS, DuplicateFilters
from identity.models import DedupeMode


class DuplicateFilterForm(forms.Form):
    """The duplicates report's query string. A value that does not fit is ignored."""

    q = forms.CharField(required=False, max_length=254, label="Address starts with")
    kind = forms.ChoiceField(required=False, choices=[("", "All"), *KINDS.items()])
    # Preview another deduplication mode than the account's.
    mode = forms.ChoiceField(required=False, choices=DedupeMode.choices)
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    def filters(self) -> DuplicateFilters:
        self.is_valid()
        data = self.cleaned_data
        return DuplicateFilters(search=data.get("q") or "", kind=data.get("kind") or "")

    def shown_mode(self, *, configured: str) -> str:
        self.is_valid()
        return self.cleaned_data.get("mode") or configured

    def page_number(self) -> int:
        self.is_valid()
        return self.cleaned_data.get("page") or 1
