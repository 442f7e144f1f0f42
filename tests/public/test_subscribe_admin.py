"""The Admins' pages for subscribe forms, the command that switches one, and the counts on the
home page."""

import pytest
from django.core.management import CommandError, ManagementUtility, call_command

from public.models import SubscribeForm, Subscription, SubscriptionState
from tests.public.subscribe_helpers import SHOP, make_form


def form_data(**changes) -> dict:
    data = {
        "slug": "spring", "title": "Spring news", "permission_bits": ["1", "2"],
        "language": "nl", "thank_you_text": "Dank je!", "allowed_origins": f"{SHOP}\nhttp://localhost:8080/",
        "enabled": "on", "ask_firstName": "on", "label_firstName": "Voornaam",
        "required_firstName": "on", "ask_loyaltyPoints": "on", "label_loyaltyPoints": "Punten",
    }  # fmt: skip
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_an_admin_creates_a_form_with_permissions_and_fields_from_the_catalogue(
    client_as, catalogue
):
    admin = client_as("admin")
    page = admin.get("/subscribe-forms/new/").content.decode()
    assert "1 · Newsletter" in page and "2 · Promotions" in page  # bits by their names
    assert "<code>loyaltyPoints</code>" in page and "<code>int</code>" in page  # with types
    assert 'name="ask_permissions"' not in page  # a set cannot be typed in

    response = admin.post("/subscribe-forms/new/", form_data())

    form = SubscribeForm.objects.get(slug="spring")
    assert response.status_code == 302
    assert form.permission_bits == [1, 2]
    assert form.extra_fields == [
        {"property": "firstName", "label": "Voornaam", "required": True},
        {"property": "loyaltyPoints", "label": "Punten", "required": False},
    ]
    assert form.allowed_origins == [SHOP, "http://localhost:8080"]
    assert form.enabled


@pytest.mark.parametrize(
    "origin", ["shop.example.com", "https://shop.example.com/path", "ftp://shop.example.com",
               "https://shop.example.com:port", "https://user@shop.example.com"],
)  # fmt: skip
def test_an_origin_that_is_not_scheme_host_port_is_refused_in_words(client_as, catalogue, origin):
    response = client_as("admin").post("/subscribe-forms/new/", form_data(allowed_origins=origin))

    assert response.status_code == 200
    assert "is not an origin" in response.content.decode() or "not a number" in (
        response.content.decode()
    )
    assert not SubscribeForm.objects.filter(slug="spring").exists()


def test_the_forms_page_shows_snippets_daily_counts_and_whats_waiting(client_as, catalogue):
    form = make_form()
    Subscription.objects.create(form=form, email="zed@example.com", state=SubscriptionState.SENT)
    Subscription.objects.create(
        form=form, email="b@example.com", state=SubscriptionState.QUEUED, attempts=2,
        error="Spotler answered 503: down",
    )  # fmt: skip

    page = client_as("admin").get(f"/subscribe-forms/{form.pk}/").content.decode()

    assert (
        "&lt;form method=&quot;post&quot; action=&quot;http://testserver/subscribe/newsletter/&quot;&gt;"
        in page
    )
    assert "fetch(&quot;http://testserver/subscribe/newsletter/json&quot;" in page
    assert "name=&quot;website&quot;" in page  # the honeypot is part of the snippet
    assert "b@example.com" in page and "Spotler answered 503: down" in page
    assert "zed@example.com" not in page  # sent ones are only counted
    assert '<td class="number"><strong>2</strong></td>' in page  # today's two, in the total


def test_the_home_page_counts_subscriptions_for_marketers_and_admins(client_as, catalogue):
    form = make_form()
    Subscription.objects.create(form=form, email="a@example.com")

    for persona in ("marketer", "admin"):
        page = client_as(persona).get("/").content.decode()
        assert 'data-testid="home-subscriptions"' in page and "newsletter" in page
    assert (
        'data-testid="home-subscriptions"'
        not in client_as("accountmanager").get("/").content.decode()
    )


def test_the_command_switches_a_form_on_and_off(db, capsys):
    call_command("subscription_form", "newsletter", "--on")
    assert SubscribeForm.objects.get(slug="newsletter").enabled
    assert "switched on" in capsys.readouterr().out

    call_command("subscription_form", "newsletter", "--off")
    assert not SubscribeForm.objects.get(slug="newsletter").enabled
    assert "switched off: /subscribe/newsletter/ now answers 404" in capsys.readouterr().out


def test_the_command_names_the_forms_there_are_for_an_unknown_slug(db):
    with pytest.raises(CommandError, match="no subscribe form “nope” \\(forms: newsletter\\)"):
        call_command("subscription_form", "nope", "--on")


def test_the_command_exits_1_for_an_unknown_slug(db, capsys):
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(
            ["manage.py", "subscription_form", "nope", "--off", "--skip-checks"]
        ).execute()

    assert exited.value.code == 1
    assert "There is no subscribe form “nope”" in capsys.readouterr().err
