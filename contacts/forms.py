from django import forms

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
        "Read and write: also send contacts and orders.",
    )
