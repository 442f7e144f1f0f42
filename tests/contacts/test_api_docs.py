def test_the_openapi_document_describes_every_call(client_as):
    schema = client_as("marketer").get("/api/v1/openapi.json").json()

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
    }
    put = schema["paths"]["/api/v1/contacts/{external_id}"]["put"]
    body = put["requestBody"]["content"]["application/json"]["schema"]
    assert "email" in body["required"]
    assert {"202", "401", "403", "422"} <= set(put["responses"])
    assert "BearerToken" in schema["components"]["securitySchemes"]


def test_the_browsable_docs_page_opens_for_a_logged_in_user(client_as):
    response = client_as("admin").get("/api/v1/docs")

    assert response.status_code == 200
    assert b"openapi.json" in response.content
