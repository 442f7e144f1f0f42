"""The Admin's form for what Spotler's API cannot tell us about the account: how it
deduplicates, the field the key's external id is bound to, and whether other systems share it."""

from django import forms

from identity.models import DedupeMode, SpotlerAccount

FIELD_NAME_LENGTH = SpotlerAccount._meta.get_field("external_id_field").max_length


class SpotlerAccountForm(forms.Form):
    dedupe_mode = forms.ChoiceField(
        choices=DedupeMode.choices,
        widget=forms.RadioSelect,
        label="Spotler deduplicates contacts",
        help_text="As the account's deduplication rules say in Spotler (Settings → Contacts).",
    )
    external_id_field = forms.CharField(
        max_length=FIELD_NAME_LENGTH,
        label="Spotler field the key's external id is bound to",
        help_text="Chosen when the key was made; “External id” unless another field was picked.",
        error_messages={"required": "Name the Spotler field; “External id” is Spotler's default."},
    )
    shared_with_other_systems = forms.BooleanField(
        required=False, label="Other linked systems use this Spotler account through the REST API"
    )

    @classmethod
    def for_account(cls, account: SpotlerAccount, data=None) -> "SpotlerAccountForm":
        initial = {name: getattr(account, name) for name in cls.base_fields}
        return cls(data, initial=initial)

    def clean_external_id_field(self) -> str:
        value = self.cleaned_data["external_id_field"]
        if any(ord(c) < 32 for c in value):
            raise forms.ValidationError("A field name has no line breaks or control characters.")
        return value
