from django import forms

from contacts.browse import STATE_CHOICES, ContactFilters
from contacts.models import TokenScope


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="Who or what uses it, e.g. “Webshop production”.",
    )
    scope = forms.ChoiceField(
        choices=TokenScope.choices,
        initial=TokenScope.WRITE,
        widget=forms.RadioSelect,
        help_text="Read: look up contacts and read the changes feed. "
        "Read and write: also send contacts and orders. "
        "Metrics only: a monitoring server reads /metrics, and nothing of the API.",
    )


class ContactFilterForm(forms.Form):
    """The contact list's query string. A value that does not fit is ignored, not an error."""

    q = forms.CharField(required=False, max_length=254, label="Search")
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *STATE_CHOICES])
    language = forms.CharField(required=False, max_length=35)
    account_manager = forms.CharField(required=False, max_length=200)
    # "<bit>:on" / "off" / "unsubscribed"; the menu lists the permissions the mapping knows.
    consent = forms.RegexField(required=False, regex=r"^[0-9]{1,4}:(on|off|unsubscribed)$")
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    def filters(self) -> ContactFilters:
        self.is_valid()
        data = self.cleaned_data
        return ContactFilters(
            search=data.get("q") or "",
            state=data.get("state") or "",
            language=data.get("language") or "",
            account_manager=data.get("account_manager") or "",
            consent=data.get("consent") or "",
        )

    def page_number(self) -> int:
        self.is_valid()
        return self.cleaned_data.get("page") or 1
