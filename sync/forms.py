"""The forms that start manual syncs; each cleans its input into `runs.start_run` arguments."""

from datetime import datetime

from django import forms
from django.utils import timezone

from contacts.browse import distinct_values
from contacts.models import Contact, is_external_id
from spotlersync.moments import moment_range_problem, out_of_range
from sync.models import SyncRunKind

MAX_IDS = 10_000
MAX_SAMPLE = 1_000_000
DATETIME_LOCAL = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class MomentField(forms.DateTimeField):
    """A moment in the local time zone, written with a year the product accepts (1900 to 2999)."""

    def to_python(self, value: object) -> datetime | None:
        try:
            return super().to_python(value)
        except OverflowError:
            # Year 1 or 9999 here is past the end of Python's calendar once moved to UTC.
            raise forms.ValidationError(out_of_range(str(self.label))) from None

    def validate(self, value: datetime | None) -> None:
        super().validate(value)
        problem = value and moment_range_problem(value, name=str(self.label))
        if problem:
            raise forms.ValidationError(problem)


def moment_field(label: str, help_text: str = "") -> forms.DateTimeField:
    return MomentField(label=label, required=False, widget=DATETIME_LOCAL, help_text=help_text)


class StartForm(forms.Form):
    """A form that starts a run; `unknown_ids` lists ids given that the ledger does not hold."""

    unknown_ids: list[str] = []

    def run_arguments(self) -> dict:
        raise NotImplementedError


class FullBackfillForm(StartForm):
    confirm = forms.BooleanField(
        label="Yes, send every contact in the ledger to Spotler again",
        error_messages={
            "required": "Tick the box to confirm: a full backfill sends every contact to Spotler."
        },
    )

    def run_arguments(self) -> dict:
        return {"kind": SyncRunKind.BACKFILL}


class ResyncForm(StartForm):
    changed_since = moment_field(
        "Changed since", "Only contacts the linked system changed after this moment."
    )
    failed_only = forms.BooleanField(label="Only contacts whose last sync failed", required=False)
    language = forms.CharField(required=False, max_length=35)
    account_manager = forms.CharField(required=False, max_length=200)
    ids = forms.CharField(
        label="External ids",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Separated by commas, spaces or new lines.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The values present in the ledger; any other value is still accepted (it matches none).
        for name, anything in (("language", "Any language"), ("account_manager", "Anyone")):
            values = distinct_values(name)
            self.fields[name].widget = forms.Select(
                choices=[("", anything), *((v, v) for v in values)]
            )

    def clean_changed_since(self) -> datetime | None:
        since = self.cleaned_data["changed_since"]
        if since and since > timezone.now():
            raise forms.ValidationError("This moment is still to come; no contact changed since.")
        return since

    def clean_ids(self) -> list[str]:
        ids = list(dict.fromkeys(self.cleaned_data["ids"].replace(",", " ").split()))
        if len(ids) > MAX_IDS:
            raise forms.ValidationError(f"At most {MAX_IDS:,} ids at a time; {len(ids):,} given.")
        bad = [i for i in ids if not is_external_id(i)]
        if bad:
            raise forms.ValidationError(f"Not an external id: {', '.join(bad[:5])}.")
        self.unknown_ids = unknown_ids(ids)
        return ids

    def clean(self) -> dict:
        data = super().clean()
        names = ("changed_since", "failed_only", "language", "account_manager", "ids")
        if not self.errors and not any(data.get(name) for name in names):
            raise forms.ValidationError(
                "Choose at least one filter; to send every contact, use the full backfill."
            )
        return data

    def run_arguments(self) -> dict:
        data = self.cleaned_data
        filters = {
            "failed_only": data["failed_only"],
            "language": data["language"],
            "account_manager": data["account_manager"],
            "ids": data["ids"],
        }
        return {"kind": SyncRunKind.BACKFILL, "since": data["changed_since"], "filters": filters}


class OneContactForm(StartForm):
    external_id = forms.CharField(label="External id", max_length=100)

    def clean_external_id(self) -> str:
        external_id = self.cleaned_data["external_id"].strip()
        if unknown_ids([external_id]):
            raise forms.ValidationError(f"The ledger holds no contact {external_id}.")
        return external_id

    def run_arguments(self) -> dict:
        return {
            "kind": SyncRunKind.BACKFILL,
            "filters": {"ids": [self.cleaned_data["external_id"]]},
        }


class PullForm(StartForm):
    what = forms.ChoiceField(
        label="Read",
        choices=[
            (SyncRunKind.PULL_UPDATES, "Updated contacts (profile edits, unsubscribes)"),
            (SyncRunKind.PULL_BOUNCES, "Bounces"),
        ],
    )
    since = moment_field("From", "Empty: an hour before the end.")
    until = moment_field("To", "Empty: now.")

    def run_arguments(self) -> dict:
        data = self.cleaned_data
        return {"kind": data["what"], "since": data["since"], "until": data["until"]}


class RefreshPropertiesForm(StartForm):
    def run_arguments(self) -> dict:
        return {"kind": SyncRunKind.REFRESH_PROPERTIES}


class PushForm(StartForm):
    def run_arguments(self) -> dict:
        return {"kind": SyncRunKind.PUSH}


class ReconcileForm(StartForm):
    sample = forms.IntegerField(
        label="Sample size",
        required=False,
        min_value=1,
        max_value=MAX_SAMPLE,
        help_text="Empty: every contact. A number: that many contacts, chosen at random.",
    )

    def run_arguments(self) -> dict:
        sample = self.cleaned_data["sample"]
        return {"kind": SyncRunKind.RECONCILE, "filters": {"sample": sample} if sample else {}}


# The `action` a start form posts, and its form; the action is also the form's prefix.
START_FORMS: dict[str, type[StartForm]] = {
    "backfill": FullBackfillForm,
    "resync": ResyncForm,
    "contact": OneContactForm,
    "pull": PullForm,
    "refresh": RefreshPropertiesForm,
    "push": PushForm,
    "reconcile": ReconcileForm,
}


def unknown_ids(ids: list[str]) -> list[str]:
    """The ids among `ids` that name no contact in the ledger (erased ones included)."""
    known: set[str] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        known |= set(
            Contact.objects.filter(external_id__in=chunk).values_list("external_id", flat=True)
        )
    return [i for i in ids if i not in known]
