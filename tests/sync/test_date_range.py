"""Moments outside the years 1900 to 2999 are refused on the Syncs page and by `manage.py sync`
(the rule of `spotlersync.moments`), saying what to fix, instead of failing with an error."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from sync.models import SyncRun

START = reverse("sync:run-start")
RANGE = "must lie between 1900-01-01 and 2999-12-31."


@pytest.mark.parametrize("moment", ["0001-01-01T00:00", "9999-12-31T23:59", "1899-12-31T23:59"])
@pytest.mark.parametrize(
    ("action", "fields", "field", "label"),
    [
        ("resync", {}, "changed_since", "Changed since"),
        ("pull", {"what": "pull_updates"}, "since", "From"),
        ("pull", {"what": "pull_bounces"}, "until", "To"),
    ],
)
def test_a_moment_outside_the_accepted_years_is_a_form_error_on_the_syncs_page(
    client_as, moment, action, fields, field, label
):
    data = {"action": action, **{f"{action}-{name}": value for name, value in fields.items()}}

    response = client_as("admin").post(START, {**data, f"{action}-{field}": moment})

    assert response.status_code == 200
    assert response.context["forms"][action].errors[field] == [f"{label} {RANGE}"]
    assert f"{label} {RANGE}" in response.content.decode()
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "3000-01-01T00:00Z"]
)
@pytest.mark.parametrize(
    "args",
    [["backfill", "--changed-since"], ["pull-updates", "--since"], ["pull-bounces", "--until"]],
)
def test_the_sync_command_refuses_a_moment_outside_the_accepted_years(db, args, moment):
    # A CommandError is what makes `manage.py sync` print the message and exit with status 1.
    with pytest.raises(CommandError) as refused:
        call_command("sync", *args, moment, stdout=StringIO())

    assert str(refused.value) == f"{args[1]} {moment!r} {RANGE}"
    assert not SyncRun.objects.exists()
