"""Driving a running sandbox over HTTP: its URLs, its credentials and its control surface.

Works the same for a sandbox in this process (`serve_in_thread`) and for one run by
`manage.py spotler_sandbox` in another.
"""

from typing import Any
from urllib.parse import quote

import requests

from spotler.sandbox.state import (
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    OTHER_CONSUMER_KEY,
    OTHER_CONSUMER_SECRET,
)

CONTROL_TIMEOUT = (5, 30)


class SandboxControlError(Exception):
    """The control surface refused a call; `status` and `body` say why."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"sandbox control answered {status}: {body}")
        self.status = status
        self.body = body


class SandboxHandle:
    """URLs, credentials and control calls for the sandbox at `url` (its root)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.base_url = f"{self.url}/integrationservice"
        self.base_url_v110 = f"{self.url}/integrationservice-1.1.0"
        self.consumer_key = DEMO_CONSUMER_KEY
        self.consumer_secret = DEMO_CONSUMER_SECRET
        self.other_consumer_key = OTHER_CONSUMER_KEY
        self.other_consumer_secret = OTHER_CONSUMER_SECRET
        self._session = requests.Session()

    def control(self, method: str, path: str, json: Any = None) -> dict:
        """Call `/_sandbox/<path>`; raises SandboxControlError unless it answers 2xx."""
        response = self._session.request(
            method, f"{self.url}/_sandbox/{path.lstrip('/')}", json=json, timeout=CONTROL_TIMEOUT
        )
        body = response.json() if response.content else {}
        if not response.ok:
            raise SandboxControlError(response.status_code, body)
        return body

    def set(self, **settings: Any) -> dict:
        """Change settings, e.g. `set(rate_limit=0, dedupe="email")`; returns all settings."""
        return self.control("POST", "settings", settings)

    def reset(self) -> None:
        self.control("POST", "reset")

    def state(self) -> dict:
        return self.control("GET", "state")

    def requests(self) -> dict:
        """Requests answered per endpoint and status: {"POST contact": {"204": 12}}."""
        return self.control("GET", "requests")

    def requests_per_second(self) -> dict:
        """API requests that arrived per whole UNIX second: {"per_second": {...}, "busiest": n}."""
        return self.control("GET", "requests/per-second")

    def contact(self, reference: str) -> dict:
        """The stored contact, with its blacklisted and anonymized flags."""
        return self.control("GET", f"contacts/{quote(reference, safe='')}")

    def close(self) -> None:
        self._session.close()
