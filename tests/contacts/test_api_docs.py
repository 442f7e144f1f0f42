import re

import pytest

from contacts.models import TokenScope
from contacts.tokens import create_api_token, revoke_api_token
from mapping.models import MappingVersion
from mapping.versions import current_version, save_version
from spotlersync.email_addresses import EMAIL_PATTERN, LOCAL_PART_PATTERN
from tests.contacts.conftest import make_token
from tests.contacts.helpers import document


def test_the_openapi_document_describes_every_call(client_as):
    schema = document(client_as)

    assert schema["openapi"].startswith("3.")
    calls = {(path, method) for path, ops in schema["paths"].items() for method in ops}
    assert calls == {
        ("/api/v1/contacts/batch", "post"),
        ("/api/v1/contacts/{external_id}", "put"),
        ("/api/v1/contacts/{external_id}", "get"),
        ("/api/v1/contacts/{external_id}", "delete"),
        ("/api/v1/contacts/{external_id}/inactivate", "post"),
        ("/api/v1/orders", "post"),
        ("/api/v1/changes", "get"),
        ("/api/v1/lists", "post"),
        ("/api/v1/lists", "get"),
        ("/api/v1/lists/{list_id}", "get"),
        ("/api/v1/lists/{list_id}", "delete"),
        ("/api/v1/lists/{list_id}/refresh", "post"),
    }
    lists = schema["paths"]["/api/v1/lists"]["post"]
    assert {"202", "403", "409", "422", "503"} <= set(lists["responses"])
    assert lists["security"] == [{"BearerToken": []}]
    refresh = schema["paths"]["/api/v1/lists/{list_id}/refresh"]["post"]
    assert {"202", "403", "404", "409", "503"} <= set(refresh["responses"])
    assert "one free slot" in refresh["description"]
    put = schema["paths"]["/api/v1/contacts/{external_id}"]["put"]
    body = put["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"] == "#/components/schemas/ContactFields"
    assert "email" in schema["components"]["schemas"]["ContactFields"]["required"]
    assert {"202", "401", "403", "409", "422"} <= set(put["responses"])
    assert "BearerToken" in schema["components"]["securitySchemes"]


def test_the_document_states_the_checks_on_a_contacts_fields(client_as):
    fields = document(client_as)["components"]["schemas"]["ContactFields"]

    assert fields["properties"]["email"]["pattern"] == EMAIL_PATTERN
    assert fields["properties"]["email"]["allOf"] == [{"pattern": LOCAL_PART_PATTERN}]
    assert fields["properties"]["email"]["maxLength"] == 254
    # Extra fields: named as the server requires, one scalar each, not anything at all.
    assert fields["propertyNames"]["pattern"] == "^[A-Za-z][A-Za-z0-9_]{0,63}$"
    assert fields["additionalProperties"] is not True
    kinds = fields["additionalProperties"]["anyOf"]
    assert {"type": "string", "maxLength": 1000, "pattern": "^[^\\x00-\\x1F\\x7F-\\x9F]*$"} in kinds
    assert {"type": ["number", "boolean", "null"]} in kinds
    assert fields["maxProperties"] == 100


def test_the_document_states_the_spellings_a_consent_field_accepts(client_as):
    newsletter = document(client_as)["components"]["schemas"]["ContactFields"]["properties"][
        "newsletter"
    ]

    # Not "boolean" alone: the server takes yes/no words too, and only those.
    text = next(kind for kind in newsletter["anyOf"] if kind.get("type") == "string")
    spelling = re.compile(text["pattern"])
    for accepted in ("yes", " Nee ", "TRUE", "1", "sí", "x", "-", ""):
        assert spelling.search(accepted), accepted
    for refused in ("maybe", "AAA", "yes please", "2"):
        assert not spelling.search(refused), refused
    assert {"type": "number", "enum": [0, 1]} in newsletter["anyOf"]


def test_a_consent_field_the_mapping_adds_is_described_with_its_spellings(client_as):
    rows = current_version().rows
    rows.append(
        {
            "source_fields": ["optin"],
            "property": "permissions",
            "type": "set",
            "direction": "both",
            "conversion": "permission",
            "options": {"bit": 2},
        }
    )
    save_version(rows=rows, author=None)
    assert MappingVersion.objects.count() == 2

    properties = document(client_as)["components"]["schemas"]["ContactFields"]["properties"]

    assert properties["optin"] == properties["newsletter"]


def test_the_document_states_the_id_pattern_and_the_order_limits(client_as):
    schema = document(client_as)
    id_pattern = "^[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}$"

    for path in ("/api/v1/contacts/{external_id}", "/api/v1/contacts/{external_id}/inactivate"):
        for operation in schema["paths"][path].values():
            (parameter,) = operation["parameters"]
            assert parameter["schema"]["pattern"] == id_pattern
    order = schema["components"]["schemas"]["OrderIn"]["properties"]
    assert order["external_id"]["pattern"] == id_pattern
    number, text = order["value"]["anyOf"]
    assert (number["maximum"], number["multipleOf"]) == (9999999999.99, 0.01)
    assert re.search(text["pattern"], "49.95") and not re.search(text["pattern"], "1e3")
    assert order["date"]["format"] == "date-time"
    assert re.search(order["date"]["pattern"], "2026-11-22T10:00:00+01:00")
    assert not re.search(order["date"]["pattern"], "9999-12-31T23:59:59-14:00")
    batch = schema["components"]["schemas"]["BatchIn"]["properties"]["contacts"]
    assert batch["maxItems"] == 1000


ID_WORDS = "Use 1 to 100 letters, digits and . _ : @ - (starting with a letter or digit)."


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "contacts/C9%0A"),
        ("put", "contacts/C9%0A"),
        ("delete", "contacts/C9%0A"),
        ("post", "contacts/C9%0A/inactivate"),
    ],
)
def test_an_id_outside_the_documented_pattern_is_refused_in_words(api, method, path):
    response = api.call(method, path, {"email": "anna@example.com"})

    assert response.status_code == 422
    assert response.json()["fields"] == {"external_id": ID_WORDS}


def test_an_order_value_is_refused_where_the_document_says_so(api):
    api.put("contacts/C1", {"email": "anna@example.com"})
    order = {"external_id": "O1", "contact_external_id": "C1", "date": "2026-11-22T10:00:00Z"}

    for value in ("1e3", "١٢", " 49.95", "49.951", 0.001, True, "12345678901"):
        response = api.post("orders", {**order, "value": value})
        assert response.status_code == 422, value
        assert (
            "at most 10 digits before the decimal point and 2 after it"
            in (response.json()["fields"]["value"])
        )
    assert api.post("orders", {**order, "value": 49.95}).status_code == 202


def test_an_order_date_must_be_iso_text_with_an_offset(api):
    api.put("contacts/C1", {"email": "anna@example.com"})
    order = {"external_id": "O1", "contact_external_id": "C1", "value": "1.00"}

    for date in (1764669600, "2026-11-22 10:00:00+01:00", "2026-11-22T10:00+01:00"):
        response = api.post("orders", {**order, "date": date})
        assert response.status_code == 422, date
        assert response.json()["fields"]["date"].startswith("Send the date and time as ISO 8601")


def test_the_browsable_docs_page_opens_for_a_logged_in_user(client_as):
    response = client_as("admin").get("/api/v1/docs")

    assert response.status_code == 200
    page = response.content.decode()
    # Swagger UI from our own static files, with the document in the page (no CDN, no fetch).
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "/api/v1/contacts/{external_id}/inactivate" in page
    assert "cdn" not in page.lower()


@pytest.mark.parametrize("scope", [TokenScope.READ, TokenScope.WRITE])
@pytest.mark.parametrize("url", ["/api/v1/openapi.json", "/api/v1/docs"])
def test_an_api_token_of_either_scope_opens_the_document_and_the_docs_page(client, db, scope, url):
    token = make_token(scope)

    response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    assert b"/api/v1/orders" in response.content


@pytest.mark.parametrize("url", ["/api/v1/openapi.json", "/api/v1/docs"])
def test_a_revoked_or_wrong_token_gets_the_apis_401_not_the_document(client, db, url):
    new = create_api_token(name="Old webshop", scope=TokenScope.READ)
    revoke_api_token(token=new.token)

    for header, error in [
        (f"Bearer {new.secret}", "token_revoked"),
        ("Bearer ssk_nonsense", "invalid_token"),
    ]:
        response = client.get(url, HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
        assert response.json()["error"] == error
        assert b"/api/v1/orders" not in response.content


def test_other_credentials_leave_it_to_the_dashboard_login(client_as):
    # e.g. a proxy's Basic authentication in front of the whole site
    anonymous = client_as("anonymous").get("/api/v1/docs", HTTP_AUTHORIZATION="Basic abc")
    marketer = client_as("marketer").get("/api/v1/docs", HTTP_AUTHORIZATION="Basic abc")

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/login/")
    assert marketer.status_code == 200


def test_the_document_names_every_kind_of_change_on_the_feed(client_as):
    kind = document(client_as)["components"]["schemas"]["ChangeOut"]["properties"]["kind"]

    # The linked system learns of the bounce inbox's work from the feed, so the kinds are named.
    for name in ["profile_changed", "permission_changed", "bounced", "inactivated",
                 "followup_opened", "followup_resolved"]:  # fmt: skip
        assert f"`{name}`" in kind["description"]
