"""Subscribe forms for tests, sign-ups sent to them, and what the sandbox holds afterwards."""

import json

import pytest
from django.core.cache import cache

from public.models import SubscribeForm

SHOP = "https://shop.example.com"
JSON_URL = "/subscribe/newsletter/json"


@pytest.fixture
def fresh_limits(db):
    """Rate-limit counts start at zero (with Redis as the cache they outlive a test)."""
    cache.clear()
    yield
    cache.clear()


def make_form(**fields) -> SubscribeForm:
    """The newsletter form (made by migration 0002), switched on, asking a first name and
    loyalty points (an int in the sandbox's catalogue), open to the shop's origin."""
    form, _ = SubscribeForm.objects.get_or_create(slug="newsletter")  # gone after a flush
    defaults = {
        "enabled": True,
        "permission_bits": [1],
        "extra_fields": [
            {"property": "firstName", "label": "First name", "required": True},
            {"property": "loyaltyPoints", "label": "Loyalty points", "required": False},
        ],
        "allowed_origins": [SHOP],
        "thank_you_text": "Thanks! Check your inbox.",
    }
    for name, value in {**defaults, **fields}.items():
        setattr(form, name, value)
    form.save()
    return form


def post_json(client, body, *, origin: str | None = SHOP, **extra):
    """A sign-up sent to the newsletter form's JSON endpoint, from the shop's page by default;
    `body` as it goes (text or bytes) or an object to encode."""
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(JSON_URL, data=data, content_type="application/json", **headers, **extra)


def sandbox_contacts(sandbox, email: str) -> list[dict]:
    everyone = sandbox.control("GET", "contacts")["contacts"]
    return [c for c in everyone if (c["properties"].get("email") or "").lower() == email.lower()]


def permission_on(contact: dict, bit: int) -> bool:
    return any(
        e["bit"] == bit and e["enabled"] for e in contact["properties"].get("permissions", [])
    )


def subscribe_calls(sandbox) -> dict:
    return sandbox.requests().get("POST subscription/subscribe", {})
