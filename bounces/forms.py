from django import forms

from bounces.inbox import AGE_CHOICES, STATE_CHOICES, UNASSIGNED, UNMATCHED, InboxFilters
from bounces.models import BounceKind, NotifyChoice


class InboxFilterForm(forms.Form):
    """The inbox's query string. A value that does not fit is ignored, not an error."""

    state = forms.ChoiceField(required=False, choices=STATE_CHOICES)
    kind = forms.ChoiceField(required=False, choices=[("", "Hard and soft"), *BounceKind.choices])
    age = forms.ChoiceField(required=False, choices=AGE_CHOICES)
    owner = forms.CharField(required=False, max_length=20)
    overdue = forms.BooleanField(required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)

    def filters(self, *, may_filter_owner: bool) -> InboxFilters:
        self.is_valid()
        data = self.cleaned_data
        owner = data.get("owner") or ""
        if not may_filter_owner or not (owner in {UNASSIGNED, UNMATCHED} or owner.isdigit()):
            owner = ""
        return InboxFilters(
            state=data.get("state") or "unresolved",
            kind=data.get("kind") or "",
            age=data.get("age") or "",
            owner=owner,
            overdue=bool(data.get("overdue")),
        )

    def page_number(self) -> int:
        self.is_valid()
        return self.cleaned_data.get("page") or 1


class CorrectEmailForm(forms.Form):
    # Checked by the one e-mail rule (bounces/work.py), not by Django's EmailField, so the inbox
    # accepts exactly what the ingest API does.
    email = forms.CharField(max_length=254, strip=False, required=False)


class ReplacementForm(forms.Form):
    replacement_name = forms.CharField(max_length=200, required=False)
    replacement_email = forms.CharField(max_length=254, required=False)
    replacement_note = forms.CharField(max_length=2000, required=False)
    employer_company = forms.CharField(max_length=200, required=False)
    employer_name = forms.CharField(max_length=200, required=False)
    employer_email = forms.CharField(max_length=254, required=False)
    employer_note = forms.CharField(max_length=2000, required=False)

    def leads(self) -> tuple[dict, dict]:
        self.is_valid()
        data = self.cleaned_data
        replacement = {k: data.get(f"replacement_{k}", "") for k in ("name", "email", "note")}
        employer = {k: data.get(f"employer_{k}", "") for k in ("company", "name", "email", "note")}
        return replacement, employer


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=2000, required=False)


class NotificationForm(forms.Form):
    choice = forms.ChoiceField(
        choices=NotifyChoice.choices, widget=forms.RadioSelect, label="E-mail me"
    )
