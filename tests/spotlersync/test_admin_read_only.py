"""The Django admin shows the application's own tables but offers no Add, Change or Delete on
them: those rows change only through the code that keeps Spotler and the budgets in step."""

import pytest
from django.contrib import admin
from django.urls import reverse

from sync.models import RateSlot, SyncRun, SyncRunKind, SyncRunTrigger, Throttle

INTERNAL = [
    "contacts.contact",
    "contacts.order",
    "contacts.change",
    "contacts.csvimport",
    "contacts.csvimportrowerror",
    "sync.outboxentry",
    "sync.syncrun",
    "sync.syncevent",
    "sync.spotlerconsent",
    "sync.spotlerstate",
    "sync.unknowncontact",
    "sync.pullwatermark",
    "sync.throttle",
    "sync.rateslot",
    "sync.scheduledjobresult",
    "sync.backfillchunk",
    "bounces.bounce",
    "bounces.followup",
    "lists.templist",
    "public.subscription",
    # Made and edited on the dashboard's own pages, which check every field (permission bits,
    # allowed origins, the catalogue's properties) before a form or page goes public.
    "public.subscribeform",
    "public.lookuppage",
]
# Settings people make in the admin stay editable.
SETTINGS = ["bounces.notificationpreference"]


def admin_of(label: str):
    for model, model_admin in admin.site._registry.items():
        if model._meta.label_lower == label:
            return model_admin
    raise AssertionError(f"{label} is not in the Django admin")


@pytest.mark.parametrize("label", INTERNAL)
def test_internal_tables_offer_no_add_change_or_delete(rf, admin_user, label):
    request = rf.get("/admin/")
    request.user = admin_user
    model_admin = admin_of(label)
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


@pytest.mark.parametrize("label", SETTINGS)
def test_settings_stay_editable_in_the_admin(rf, admin_user, label):
    request = rf.get("/admin/")
    request.user = admin_user
    assert admin_of(label).has_change_permission(request)


def test_the_rate_slot_and_throttle_pages_have_no_add_button_and_refuse_an_add(client, admin_user):
    from django.utils import timezone

    RateSlot.objects.create(slot=1)
    Throttle.objects.create(until=timezone.now(), reason="429")
    client.force_login(admin_user)
    for name in ("sync_rateslot", "sync_throttle", "sync_outboxentry"):
        page = client.get(reverse(f"admin:{name}_changelist")).content.decode()
        assert reverse(f"admin:{name}_add") not in page
        assert 'value="delete_selected"' not in page
        assert client.get(reverse(f"admin:{name}_add")).status_code == 403
        assert client.post(reverse(f"admin:{name}_add"), {"slot": 2}).status_code == 403
    assert list(RateSlot.objects.values_list("slot", flat=True)) == [1]


def test_a_run_opens_in_the_admin_as_a_page_to_read_not_a_form(client, admin_user):
    run = SyncRun.objects.create(kind=SyncRunKind.PUSH, trigger=SyncRunTrigger.LIVE)
    client.force_login(admin_user)
    page = client.get(reverse("admin:sync_syncrun_change", args=[run.pk])).content.decode()
    assert 'name="_save"' not in page
    assert reverse("admin:sync_syncrun_delete", args=[run.pk]) not in page
    deleted = client.post(reverse("admin:sync_syncrun_delete", args=[run.pk]), {"post": "yes"})
    assert deleted.status_code == 403
    assert SyncRun.objects.filter(pk=run.pk).exists()
