from django import forms


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=200)
    object_type = forms.CharField(required=False, max_length=40)
    action = forms.CharField(required=False, max_length=40)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
