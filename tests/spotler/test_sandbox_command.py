"""`manage.py spotler_sandbox` as its own process: it keeps its state in a file across a
restart, seeds demo contacts, stops cleanly on SIGTERM and never needs the database."""

import json
import subprocess
import sys
import time

from tests.spotler.sandbox_helpers import ROOT, SignedApi, sandbox_command, stop_command


def signed(sandbox) -> SignedApi:
    return SignedApi(sandbox.base_url, sandbox.consumer_key, sandbox.consumer_secret)


def test_the_state_file_keeps_everything_across_a_restart(tmp_path):
    state_file = tmp_path / "sandbox.state.json"
    with sandbox_command("--state-file", str(state_file)) as (sandbox, process):
        sandbox.set(rate_limit=0, dedupe="email")
        api = signed(sandbox)
        api.upsert("c-1", email="anna@example.nl", permissions=[{"bit": 1, "enabled": True}])
        api.post("templist", json={"externalTemporaryListId": "tl-1", "name": "Guests"})
        sandbox.control("POST", "contacts/c-1/bounce", {"type": "HARDBOUNCE"})
        before = sandbox.contact("c-1")
        stop_command(process)
        output = process.stdout.read()

    assert process.returncode == 0 and "Stopped." in output
    with sandbox_command("--state-file", str(state_file)) as (sandbox, _):
        assert sandbox.contact("c-1") == before
        assert [t["externalTemporaryListId"] for t in sandbox.state()["templists"]] == ["tl-1"]
        assert len(sandbox.state()["bounces"]) == 1
        assert sandbox.control("GET", "settings")["dedupe"] == "email"
        api = signed(sandbox)
        assert api.delete("templist/tl-1").status_code == 204  # still ours after the restart


def test_changes_reach_the_state_file_while_the_sandbox_runs(tmp_path):
    state_file = tmp_path / "sandbox.state.json"
    with sandbox_command("--state-file", str(state_file)) as (sandbox, _):
        signed(sandbox).upsert("c-1", email="anna@example.nl")

        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if state_file.exists() and "anna@example.nl" in state_file.read_text():
                break
            time.sleep(0.1)

        saved = json.loads(state_file.read_text())
    assert saved["contacts"]["contacts"][0]["externalId"] == "c-1"
    assert not list(tmp_path.glob(".*.tmp"))


def test_seed_demo_puts_demo_contacts_in_an_empty_sandbox(tmp_path):
    with sandbox_command("--seed-demo") as (sandbox, _):
        contacts = sandbox.control("GET", "contacts")["contacts"]

    assert len(contacts) == 6
    assert {c["externalId"] for c in contacts} >= {"C-1001", "C-1006"}


def test_a_corrupt_state_file_stops_the_command_and_is_left_alone(tmp_path):
    state_file = tmp_path / "sandbox.state.json"
    state_file.write_text("{half a file")

    finished = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spotler_sandbox",
            "--port",
            "0",
            "--state-file",
            str(state_file),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode != 0
    assert "Cannot read the sandbox state file" in finished.stderr
    assert state_file.read_text() == "{half a file"


def test_the_command_runs_without_a_database():
    unreachable = {"DATABASE_URL": "postgres://nobody@127.0.0.1:9/nothing", "REDIS_URL": ""}
    with sandbox_command(env=unreachable) as (sandbox, _):
        assert signed(sandbox).get("contact/properties/list").status_code == 200
