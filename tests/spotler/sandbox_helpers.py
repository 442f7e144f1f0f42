"""Speaking to the sandbox as a client would: requests + requests-oauthlib, query parameters
signed. Deliberately not the project's Spotler client, which these tests must not depend on.
"""

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from requests_oauthlib import OAuth1

from spotler.sandbox import SandboxHandle

ROOT = Path(__file__).resolve().parents[2]


class SignedApi:
    """Signed calls to one base path with one credential; answers are plain `requests` ones."""

    def __init__(self, base_url: str, consumer_key: str, consumer_secret: str) -> None:
        self.base_url = base_url
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"

    def auth(self, **oauth: Any) -> OAuth1:
        return OAuth1(self.consumer_key, self.consumer_secret, **oauth)

    def call(
        self, method: str, path: str, *, params: Any = None, json: Any = None, **oauth: Any
    ) -> requests.Response:
        """`oauth` goes to OAuth1: `nonce=`, `timestamp=`, `signature_type=`..."""
        return self.session.request(
            method,
            f"{self.base_url}/{path}",
            params=params,
            json=json,
            auth=self.auth(**oauth),
            timeout=10,
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("DELETE", path, **kwargs)

    def upsert(self, external_id: str, *, purge: bool = False, **properties: Any):
        """POST contact with update=true; asserts the 204."""
        response = self.post(
            "contact",
            json={
                "update": True,
                "purge": purge,
                "contact": {"externalId": external_id, "properties": properties},
            },
        )
        assert response.status_code == 204, response.text
        return response


def error_of(response: requests.Response) -> tuple[int, str, str]:
    """(status, errorType, message) of an ErrorResponse."""
    body = response.json()
    return response.status_code, body["errorType"], body["message"]


def window(**around: Any) -> dict[str, str]:
    """fromDate/toDate params for the last hour up to a minute from now, or as given."""
    now = datetime.now(UTC)
    start = around.get("start", now - timedelta(hours=1))
    end = around.get("end", now + timedelta(minutes=1))
    return {"fromDate": start.isoformat(), "toDate": end.isoformat()}


def bits(contact: dict, name: str = "permissions") -> dict[int, bool]:
    """A set-type property of an answered contact as {bit: enabled}."""
    return {entry["bit"]: entry["enabled"] for entry in contact["properties"][name]}


@contextlib.contextmanager
def sandbox_command(
    *args: str, env: dict | None = None
) -> Iterator[tuple[SandboxHandle, subprocess.Popen]]:
    """`manage.py spotler_sandbox --port 0 <args>` in a subprocess, stopped with SIGTERM."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "spotler_sandbox", "--port", "0", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        first_line = process.stdout.readline()
        assert first_line.startswith("Spotler sandbox on "), first_line + process.stdout.read()
        yield SandboxHandle(first_line.removeprefix("Spotler sandbox on ").strip()), process
    finally:
        stop_command(process)


def stop_command(process: subprocess.Popen) -> None:
    """SIGTERM, as a service manager stops it; SIGKILL if it does not end in time."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
