"""Every page sends a Content-Security-Policy without inline script or style, and a
Permissions-Policy; the templates hold nothing that such a policy would block."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings

from contacts.tokens import create_api_token

TEMPLATES = Path(settings.BASE_DIR) / "templates"

# What a CSP without 'unsafe-inline' blocks: inline event handlers, inline scripts, style
# attributes and javascript: URLs (htmx's hx-on would need 'unsafe-eval' too).
INLINE_CODE = re.compile(
    r"""\son[a-z]+\s*=|<script(?![^>]*\bsrc=)[^>]*>|\sstyle\s*=|javascript:|\shx-on""",
    re.IGNORECASE,
)


@pytest.mark.parametrize(
    ("persona", "path"),
    [
        ("admin", "/"),
        ("admin", "/contacts/"),
        ("admin", "/mapping/"),
        ("admin", "/sync/health/"),
        ("admin", "/api-tokens/"),
        ("admin", "/admin/"),
        ("anonymous", "/login/"),
    ],
)
def test_each_page_sends_a_policy_without_inline_code_and_a_permissions_policy(
    client_as, persona, path
):
    response = client_as(persona).get(path)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    permissions = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions


def test_no_template_holds_inline_script_handlers_or_styles():
    found = [
        f"{template.relative_to(TEMPLATES)}:{number}: {line.strip()}"
        for template in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(template.read_text().splitlines(), start=1)
        if INLINE_CODE.search(line)
    ]
    assert found == []


def test_failed_logins_from_an_address_do_not_block_its_api_calls(client, db, settings):
    secret = create_api_token(name="Webshop", scope="read").secret
    for _ in range(settings.LOGIN_LOCKOUT_ADDRESS_FAILURES):
        client.post("/login/", {"username": "nobody", "password": "guess"}, REMOTE_ADDR="10.0.0.7")
    assert (
        client.post(
            "/login/", {"username": "x", "password": "y"}, REMOTE_ADDR="10.0.0.7"
        ).status_code
        == 429
    )
    response = client.get(
        "/api/v1/changes", HTTP_AUTHORIZATION=f"Bearer {secret}", REMOTE_ADDR="10.0.0.7"
    )
    assert response.status_code == 200


def test_the_api_documentation_loads_nothing_from_the_internet(client_as):
    page = client_as("marketer").get("/api/v1/docs").content.decode()
    settings_json = re.search(r'id="swagger-settings">(.*?)</script>', page, re.S).group(1)
    assert json.loads(settings_json)["validatorUrl"] is None  # no badge from validator.swagger.io
    assert "cdn" not in page.lower()
