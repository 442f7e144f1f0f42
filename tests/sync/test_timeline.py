from django.urls import reverse

from contacts.ingest import erase_contact, upsert_contact
from contacts.models import Contact
from sync.models import OutboxEntry, OutboxStatus
from sync.push import push_one_batch

ANNA = {"email": "anna@example.nl", "first_name": "Anna"}


def test_the_contact_page_shows_what_was_sent_and_spotlers_answer(client, marketer, spotler_client):
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    push_one_batch(client=spotler_client)
    client.force_login(marketer)
    html = client.get(reverse("contacts:contact-detail", args=["C-1"])).content.decode()
    assert 'data-testid="sync-timeline"' in html
    assert "Spotler accepted it." in html
    assert "&quot;firstName&quot;: &quot;Anna&quot;" in html
    assert 'data-testid="push-now"' not in html  # pushing by hand is for Admins


def test_a_failed_contact_can_be_retried_by_an_admin(client, admin_user, spotler_client):
    upsert_contact(external_id="C-2", raw_fields=ANNA)
    OutboxEntry.objects.update(status=OutboxStatus.FAILED, last_error="earlier failure")
    Contact.objects.filter(external_id="C-2").update(sync_status="failed", sync_error="x")
    client.force_login(admin_user)
    page = client.get(reverse("contacts:contact-detail", args=["C-2"])).content.decode()
    assert ">Retry</button>" in page
    response = client.post(reverse("sync:contact-push", args=["C-2"]), follow=True)
    assert "Queued: the contact goes to Spotler" in response.content.decode()
    assert OutboxEntry.objects.filter(status=OutboxStatus.FAILED).count() == 0
    push_one_batch(client=spotler_client)
    assert Contact.objects.get(external_id="C-2").sync_status == "synced"


def test_an_erased_contact_cannot_be_pushed(client, admin_user, spotler_client):
    upsert_contact(external_id="C-3", raw_fields=ANNA)
    erase_contact(external_id="C-3")
    client.force_login(admin_user)
    # the erased contact no longer answers to its external id for pushing
    assert client.post(reverse("sync:contact-push", args=["C-3"])).status_code == 404


def test_a_failure_can_be_dismissed_with_a_reason_that_stays_on_the_contact(client, admin_user):
    upsert_contact(external_id="C-4", raw_fields=ANNA)
    OutboxEntry.objects.update(status=OutboxStatus.FAILED)
    Contact.objects.filter(external_id="C-4").update(
        sync_status="failed", sync_error="Spotler answered 400 INVALID_PARAMS: Email is invalid"
    )
    client.force_login(admin_user)
    url = reverse("sync:contact-dismiss", args=["C-4"])
    refused = client.post(url, {"reason": "  "}, follow=True).content.decode()
    assert "Say why the failure is dismissed" in refused
    client.post(url, {"reason": "test customer, never mailed"})
    contact = Contact.objects.get(external_id="C-4")
    assert contact.sync_status == "dismissed"
    assert "Dismissed by admin: test customer, never mailed" in contact.sync_error
    assert "Email is invalid" in contact.sync_error
    assert OutboxEntry.objects.get().status == OutboxStatus.DISMISSED
    page = client.get(reverse("contacts:contact-detail", args=["C-4"])).content.decode()
    assert "test customer, never mailed" in page


def test_the_home_page_counts_the_contacts_that_failed(client_as):
    upsert_contact(external_id="C-5", raw_fields=ANNA)
    client = client_as("marketer")
    assert "none waits for anyone" in client.get(reverse("home")).content.decode()
    Contact.objects.filter(external_id="C-5").update(sync_status="failed")
    html = client.get(reverse("home")).content.decode()
    card = html[html.index('data-testid="failed-contacts"') :]
    assert '<p class="figure state-bad">1</p>' in card
    assert "?state=failed" in card


def test_a_contact_url_holding_no_external_id_is_not_found_before_any_lookup(client, admin_user):
    """A NUL byte in the path made PostgreSQL refuse the query (a server error); it is a 404."""
    upsert_contact(external_id="C1", raw_fields=ANNA)
    client.force_login(admin_user)
    for name in ("sync:contact-push", "sync:contact-dismiss"):
        url = reverse(name, args=["C1"]).replace("/C1/", "/C1%00/")
        assert client.post(url, {"reason": "x"}).status_code == 404
    assert client.get("/contacts/C1%00/").status_code == 404
    assert client.get("/contacts/C1/").status_code == 200


def test_a_dismiss_reason_holding_a_nul_character_is_refused_with_what_to_fix(client, admin_user):
    upsert_contact(external_id="C-5", raw_fields=ANNA)
    Contact.objects.filter(external_id="C-5").update(sync_status="failed", sync_error="x")
    client.force_login(admin_user)
    url = reverse("sync:contact-dismiss", args=["C-5"])
    page = client.post(url, {"reason": "test\x00"}, follow=True).content.decode()
    assert "Remove the NUL character from the reason" in page
    assert Contact.objects.get(external_id="C-5").sync_status == "failed"
