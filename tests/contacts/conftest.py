import json
from typing import Any

import pytest
from django.test import Client

from contacts.models import TokenScope
from contacts.tokens import create_api_token


class ApiClient:
    """Django's test client, speaking JSON to /api/v1/ with a bearer token."""

    def __init__(self, client: Client, secret: str | None) -> None:
        self.client = client
        self.secret = secret

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | str | None = None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"} if self.secret else {}
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        send = getattr(self.client, method)
        if method == "get":
            return send(f"/api/v1/{path}", **headers)
        return send(f"/api/v1/{path}", data=data, content_type="application/json", **headers)

    def get(self, path: str):
        return self.call("get", path)

    def put(self, path: str, body: Any = None, **kwargs):
        return self.call("put", path, body, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs):
        return self.call("post", path, body, **kwargs)

    def delete(self, path: str):
        return self.call("delete", path)


def make_token(scope: TokenScope = TokenScope.WRITE, name: str = "Webshop") -> str:
    return create_api_token(name=name, scope=scope).secret


@pytest.fixture
def api(client, db) -> ApiClient:
    return ApiClient(client, make_token(TokenScope.WRITE))


@pytest.fixture
def read_api(client, db) -> ApiClient:
    return ApiClient(client, make_token(TokenScope.READ, name="Reporting"))


def anna(**extra: Any) -> dict[str, Any]:
    return {"email": "anna@example.com", "first_name": "Anna", "language": "nl", **extra}
