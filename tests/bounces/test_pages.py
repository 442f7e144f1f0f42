"""The inbox and a follow-up's page: who sees what, the filters, the actions and their errors."""

import pytest
from django.contrib.auth.models import User

from bounces.models import FollowUp, Resolution
from contacts.models import Contact
from sync.models import OutboxEntry
from tests.bounces.helpers import bounce, manager, pull, pushed_contact


def log_in(client, username):
    client.force_login(User.objects.get(username=username))
    return client


@pytest.fixture
def sannes(spotler_client, spotler_sandbox):
    manager("sanne", first_name="Sanne", last_name="Bakker")
    manager("tom", first_name="Tom", last_name="de Wit")
    pushed_contact(spotler_client, "C-1", account_manager="Sanne Bakker")
    pushed_contact(spotler_client, "C-2", email="bob@example.nl", account_manager="Tom de Wit")
    bounce(spotler_sandbox, "C-1")
    bounce(spotler_sandbox, "C-2")
    pull(spotler_client)
    return FollowUp.objects.get(owner__username="sanne"), FollowUp.objects.get(
        owner__username="tom"
    )


def test_an_account_manager_sees_only_their_own_followups(client, sannes):
    mine, toms = sannes
    page = log_in(client, "sanne").get("/bounces/")

    assert page.status_code == 200
    text = page.content.decode()
    assert f"/bounces/{mine.pk}/" in text and f"/bounces/{toms.pk}/" not in text
    assert 'data-testid="nav-bounces-count">1<' in text


def test_another_owners_followup_answers_404_to_see_or_change(client, sannes):
    _, toms = sannes
    client = log_in(client, "sanne")

    assert client.get(f"/bounces/{toms.pk}/").status_code == 404
    refused = client.post(f"/bounces/{toms.pk}/dismiss/", {"reason": "not mine"})

    assert refused.status_code == 404
    toms.refresh_from_db()
    assert toms.state == "open"


def test_an_admin_sees_everyones_reassigns_and_dismisses_many_at_once(client, sannes):
    mine, toms = sannes
    manager("boss", role="Admin")
    client = log_in(client, "boss")
    text = client.get("/bounces/").content.decode()
    assert f"/bounces/{mine.pk}/" in text and f"/bounces/{toms.pk}/" in text

    tom = User.objects.get(username="tom")
    client.post("/bounces/bulk/", {"ids": [mine.pk], "action": "assign", "owner": tom.pk})
    assert FollowUp.objects.filter(owner=tom).count() == 2

    refused = client.post(
        "/bounces/bulk/", {"ids": [mine.pk, toms.pk], "action": "dismiss"}, follow=True
    )
    assert "Nothing was changed" in refused.content.decode()
    assert FollowUp.objects.unresolved().count() == 2

    client.post(
        "/bounces/bulk/", {"ids": [mine.pk, toms.pk], "action": "dismiss", "reason": "test list"}
    )
    assert FollowUp.objects.filter(resolution=Resolution.DISMISSED).count() == 2


def test_an_account_manager_cannot_reassign_or_act_in_bulk(client, sannes):
    mine, _ = sannes
    client = log_in(client, "sanne")
    tom = User.objects.get(username="tom")

    assert client.post(f"/bounces/{mine.pk}/assign/", {"owner": tom.pk}).status_code == 403
    assert (
        client.post(
            "/bounces/bulk/", {"ids": [mine.pk], "action": "dismiss", "reason": "x"}
        ).status_code
        == 403
    )
    mine.refresh_from_db()
    assert (mine.owner.username, mine.state) == ("sanne", "open")


def test_a_marketer_has_no_inbox(client_as, sannes):
    assert client_as("marketer").get("/bounces/").status_code == 403


def test_an_invalid_address_is_refused_on_the_page_with_what_to_fix(client, sannes):
    mine, _ = sannes
    page = log_in(client, "sanne").post(f"/bounces/{mine.pk}/correct/", {"email": "anna@@example"})

    assert page.status_code == 400
    assert "is not an e-mail address" in page.content.decode()
    assert Contact.objects.get(external_id="C-1").email == "anna@example.nl"
    assert not OutboxEntry.objects.pending().exists()


def test_dismissing_without_a_reason_is_refused_on_the_page(client, sannes):
    mine, _ = sannes
    page = log_in(client, "sanne").post(f"/bounces/{mine.pk}/dismiss/", {"reason": ""})

    assert page.status_code == 400
    assert "Say why" in page.content.decode()
    mine.refresh_from_db()
    assert mine.state == "open"


def test_correcting_on_the_page_sends_the_address_and_says_it_waits_for_spotler(client, sannes):
    mine, _ = sannes
    client = log_in(client, "sanne")
    page = client.post(f"/bounces/{mine.pk}/correct/", {"email": "anna.v@example.nl"}, follow=True)

    assert "on its way to Spotler" in page.content.decode()
    assert 'data-testid="waiting"' in page.content.decode()


def test_the_filters_narrow_the_inbox(client, sannes):
    mine, toms = sannes
    manager("boss", role="Admin")
    client = log_in(client, "boss")
    sanne = User.objects.get(username="sanne")

    by_owner = client.get(f"/bounces/?owner={sanne.pk}").content.decode()
    soft = client.get("/bounces/?kind=soft").content.decode()
    overdue = client.get("/bounces/?overdue=on").content.decode()
    done = client.get("/bounces/?state=done").content.decode()

    assert f"/bounces/{mine.pk}/" in by_owner and f"/bounces/{toms.pk}/" not in by_owner
    assert 'data-testid="no-followups"' in soft
    assert 'data-testid="no-followups"' in overdue
    assert 'data-testid="no-followups"' in done


def test_the_contacts_list_shows_and_filters_the_bounced_state(client_as, sannes, spotler_client):
    pushed_contact(spotler_client, "C-3", email="carla@example.nl")
    client = client_as("admin")

    everyone = client.get("/contacts/").content.decode()
    bounced = client.get("/contacts/?state=bounced").content.decode()
    detail = client.get("/contacts/C-1/").content.decode()

    assert everyone.count('data-testid="bounced-state"') == 2
    assert "C-1" in bounced and "C-2" in bounced and "C-3" not in bounced
    assert 'data-testid="bounced-notice"' in detail


def test_the_follow_up_page_shows_contact_bounces_orders_and_history(client, sannes):
    from datetime import UTC, datetime
    from decimal import Decimal

    from contacts.ingest import record_order

    mine, _ = sannes
    record_order(
        external_id="O-1",
        contact_external_id="C-1",
        ordered_at=datetime(2026, 3, 1, tzinfo=UTC),
        value=Decimal("12.50"),
    )
    text = log_in(client, "sanne").get(f"/bounces/{mine.pk}/").content.decode()

    assert "anna@example.nl" in text and "Hard bounce" in text
    assert "O-1" in text and "12.50" in text
    assert "Opened after a hard bounce" in text
    assert "What to do next" in text


def test_a_lead_note_too_long_is_refused_with_its_limit_not_dropped(client, sannes):
    mine, _ = sannes
    page = log_in(client, "sanne").post(
        f"/bounces/{mine.pk}/replacement/",
        {"replacement_name": "Piet", "replacement_email": "piet@example.nl",
         "replacement_note": "x" * 2001},
    )  # fmt: skip

    assert page.status_code == 400
    assert "at most 2000 characters" in page.content.decode()
    mine.refresh_from_db()
    assert (mine.state, mine.resolution) == ("open", "")


@pytest.mark.parametrize(
    ("action", "field", "limit"),
    [("dismiss", "reason", 2000), ("correct", "email", 254)],
)
def test_a_value_too_long_is_refused_with_its_limit(client, sannes, action, field, limit):
    mine, _ = sannes
    page = log_in(client, "sanne").post(f"/bounces/{mine.pk}/{action}/", {field: "a" * (limit + 1)})

    assert page.status_code == 400
    assert f"at most {limit} characters" in page.content.decode()
    mine.refresh_from_db()
    assert mine.state == "open"


@pytest.mark.parametrize(
    ("action", "field", "what"), [("note", "text", "A note"), ("left", "note", "The note")]
)
def test_a_note_too_long_is_refused_with_its_limit_and_nothing_is_written(
    client, sannes, action, field, what
):
    mine, _ = sannes
    steps = mine.steps.count()
    page = log_in(client, "sanne").post(f"/bounces/{mine.pk}/{action}/", {field: "n" * 2001})

    assert page.status_code == 400
    assert f"{what} may be at most 2000 characters (it has 2001)" in page.content.decode()
    mine.refresh_from_db()
    assert (mine.state, mine.resolution, mine.steps.count()) == ("open", "", steps)


def test_a_note_on_a_done_followup_adds_to_its_history_and_the_page_says_so(client, sannes):
    mine, _ = sannes
    client = log_in(client, "sanne")
    client.post(f"/bounces/{mine.pk}/dismiss/", {"reason": "Test address"})

    page = client.get(f"/bounces/{mine.pk}/").content.decode()
    assert "A note still adds to its history" in page and "stays done" in page
    client.post(f"/bounces/{mine.pk}/note/", {"text": "Customer called back: all fine."})

    mine.refresh_from_db()
    assert (mine.state, mine.resolution) == ("done", "dismissed")
    assert mine.steps.last().text == "Customer called back: all fine."


def test_a_done_followup_keeps_its_owner_when_an_admin_assigns_it(client, sannes):
    mine, toms = sannes
    manager("boss", role="Admin")
    tom = User.objects.get(username="tom")
    log_in(client, "sanne").post(f"/bounces/{mine.pk}/dismiss/", {"reason": "Test address"})
    client = log_in(client, "boss")

    page = client.post(f"/bounces/{mine.pk}/assign/", {"owner": tom.pk})

    assert page.status_code == 400
    assert "already done; it keeps the owner who did it" in page.content.decode()
    mine.refresh_from_db()
    assert mine.owner.username == "sanne"
    listing = client.post(
        "/bounces/bulk/", {"ids": [mine.pk, toms.pk], "action": "assign",
                           "owner": User.objects.get(username="boss").pk}, follow=True,
    )  # fmt: skip
    assert "Assigned 1 follow-up(s) to" in listing.content.decode()
    assert "1 done follow-up(s) keep their owner" in listing.content.decode()
    mine.refresh_from_db()
    toms.refresh_from_db()
    assert (mine.owner.username, toms.owner.username) == ("sanne", "boss")
