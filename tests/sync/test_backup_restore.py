"""A database copy taken mid-sync (pg_dump) and restored (pg_restore) carries on syncing.

The copy is the backup: what was pending in it goes to Spotler, what Spotler already held from
before the copy is not sent again, the pull goes on from its watermark without publishing an
older change twice. What happened between the copy and the restore is not in it: a contact
pushed then is pushed again (an upsert of the same state, which Spotler takes as it is), and a
change made in Spotler then is read by the pull (its window starts before the watermark).
"""

import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from contacts.feed import publish_change, read_changes
from contacts.ingest import upsert_contact
from contacts.models import ChangeKind, Contact, SyncStatus
from sync.models import OutboxEntry, OutboxStatus, PullWatermark, SyncRunKind
from sync.pull import pull_updates_on_schedule
from sync.push import push_one_batch
from sync.push_claims import claim_contacts, lease
from tests.conftest import transactional
from tests.helpers import postgresql_only

pytestmark = [
    postgresql_only,
    pytest.mark.skipif(
        not all(shutil.which(tool) for tool in ("pg_dump", "pg_restore", "createdb", "dropdb")),
        reason="PostgreSQL's client tools needed (pg_dump, pg_restore, createdb, dropdb)",
    ),
]


def customer(name: str) -> dict:
    return {"email": f"{name.lower()}@example.nl", "first_name": name, "newsletter": True}


def libpq() -> tuple[list[str], dict[str, str]]:
    """Host, port and user of the test database for the PostgreSQL tools, and the password."""
    db = connection.settings_dict
    args = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432)]
    if db["USER"]:
        args += ["-U", db["USER"]]
    return args, {**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}


def dump(path) -> None:
    """What an operator's backup does: `pg_dump -Fc` of the live database."""
    args, env = libpq()
    name = connection.settings_dict["NAME"]
    subprocess.run(["pg_dump", *args, "-Fc", "-f", str(path), name], env=env, check=True)


@contextmanager
def restored(path):
    """The backup restored into a new, empty database (`createdb`, then `pg_restore`), and this
    process connected to it instead of the one it was taken from, as a restored site would be."""
    args, env = libpq()
    original = connection.settings_dict["NAME"]
    copy = f"{original}_restored"
    subprocess.run(["dropdb", *args, "--if-exists", "--force", copy], env=env, check=True)
    subprocess.run(["createdb", *args, copy], env=env, check=True)
    subprocess.run(
        ["pg_restore", *args, "--no-owner", "--exit-on-error", "-d", copy, str(path)],
        env=env,
        check=True,
    )
    connection.close()
    connection.settings_dict["NAME"] = copy
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original
        subprocess.run(["dropdb", *args, "--if-exists", "--force", copy], env=env, check=True)


def seq(sandbox, external_id: str) -> int:
    """Where the contact's last write stands in the sandbox's sequence of every accepted write
    (across contacts): unchanged means nothing was written to the contact since."""
    return sandbox.contact(external_id)["changeSeq"]


def push_all(client) -> None:
    while push_one_batch(client=client) is not None:
        pass


@transactional
def test_a_copy_taken_mid_sync_and_restored_resumes_sending_what_was_pending_and_nothing_else(
    spotler_client, spotler_sandbox, tmp_path
):
    client = spotler_client
    # Before the copy: Anna and Bram reach Spotler, a recipient edits Bram there and the
    # scheduled pull publishes it and keeps its watermark.
    upsert_contact(external_id="C-1", raw_fields=customer("Anna"))
    upsert_contact(external_id="C-2", raw_fields=customer("Bram"))
    push_all(client)
    spotler_sandbox.control("POST", "contacts/C-2/edit", json={"properties": {"firstName": "Bas"}})
    assert pull_updates_on_schedule(client=client).status == "succeeded"
    watermark = PullWatermark.objects.get(kind=SyncRunKind.PULL_UPDATES).until
    [bram_edit] = read_changes()
    # ... then the shop sends changes that are still waiting when the copy is taken: Anna
    # edited, Cor new; Daan's push failed while Spotler was away (waiting for its retry), and
    # Eva's is in flight (a worker holds her).
    upsert_contact(external_id="C-1", raw_fields=customer("Annie"))
    upsert_contact(external_id="C-3", raw_fields=customer("Cor"))
    spotler_sandbox.set(error_rate=1.0, error_statuses=[503])
    upsert_contact(external_id="C-4", raw_fields=customer("Daan"))
    push_one_batch(client=client, only=[Contact.objects.get(external_id="C-4").pk])
    spotler_sandbox.set(error_rate=0.0)
    upsert_contact(external_id="C-5", raw_fields=customer("Eva"))
    claim_contacts(limit=1, only=[Contact.objects.get(external_id="C-5").pk])
    assert set(
        OutboxEntry.objects.exclude(status=OutboxStatus.DONE).values_list(
            "contact__external_id", "status"
        )
    ) == {("C-1", "pending"), ("C-3", "pending"), ("C-4", "pending"), ("C-5", "in_flight")}
    anna_before_copy = seq(spotler_sandbox, "C-1")

    dump(tmp_path / "spotlersync.dump")

    # Between the copy and the loss of the database: Cor goes out, and recipients edit Anna
    # and Bram in Spotler. The copy knows none of it.
    push_one_batch(client=client, only=[Contact.objects.get(external_id="C-3").pk])
    cor_sent_before_loss = seq(spotler_sandbox, "C-3")
    spotler_sandbox.control(
        "POST", "contacts/C-1/edit", json={"properties": {"lastName": "de Wit"}}
    )
    spotler_sandbox.control("POST", "contacts/C-2/edit", json={"properties": {"firstName": "Bo"}})
    bram_last_write = seq(spotler_sandbox, "C-2")

    with restored(tmp_path / "spotlersync.dump"):
        # The copy holds exactly what was there when it was taken.
        assert PullWatermark.objects.get(kind=SyncRunKind.PULL_UPDATES).until == watermark
        assert [c.pk for c in read_changes()] == [bram_edit.pk]
        daan = OutboxEntry.objects.get(contact__external_id="C-4")
        assert (daan.status, daan.attempts) == ("pending", 1)
        assert daan.not_before > timezone.now()  # its backoff survived the restore

        push_all(client)

        # Anna's edit and Cor went; Bram, whom Spotler held from before the copy, did not.
        assert seq(spotler_sandbox, "C-2") == bram_last_write  # nothing written since "Bo"
        assert spotler_sandbox.contact("C-1")["properties"]["firstName"] == "Annie"
        # Cor, pushed after the copy was taken, went again: the same upsert, Spotler holds him once.
        assert seq(spotler_sandbox, "C-3") > cor_sent_before_loss
        assert spotler_sandbox.contact("C-3")["properties"]["firstName"] == "Cor"
        assert [c["externalId"] for c in spotler_sandbox.state()["contacts"]].count("C-3") == 1
        # Daan waits for his retry time and Eva for her worker's claim to lapse (10 minutes):
        # a worker of the old database might still be sending her.
        waiting = OutboxEntry.objects.exclude(status=OutboxStatus.DONE)
        assert set(waiting.values_list("contact__external_id", "status")) == {
            ("C-4", "pending"),
            ("C-5", "in_flight"),
        }
        # ... and go once those times have passed.
        OutboxEntry.objects.filter(contact__external_id="C-4").update(not_before=timezone.now())
        OutboxEntry.objects.filter(contact__external_id="C-5").update(
            claimed_at=timezone.now() - lease() - timedelta(seconds=1)
        )
        push_all(client)
        assert not OutboxEntry.objects.exclude(status=OutboxStatus.DONE).exists()
        assert set(Contact.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}
        for ext, name in [("C-1", "Annie"), ("C-3", "Cor"), ("C-4", "Daan"), ("C-5", "Eva")]:
            assert spotler_sandbox.contact(ext)["properties"]["firstName"] == name
        assert seq(spotler_sandbox, "C-1") > anna_before_copy

        # The pull goes on from the copy's watermark: Bram's older edit is not published
        # again, the edits made after the copy are, and our own pushes are not changes.
        # A pull's window ends on a whole second: on a fast machine this pull would otherwise
        # end in the very second the copy's did, and its watermark could not move on.
        while timezone.now().replace(microsecond=0) + timedelta(seconds=1) <= watermark:
            time.sleep(0.05)
        run = pull_updates_on_schedule(client=client)
        assert run.status == "succeeded"
        assert run.window_start <= watermark
        changes = read_changes()
        assert changes[0].pk == bram_edit.pk
        assert {(c.external_id, c.payload["value"]) for c in changes[1:]} == {
            ("C-1", "de Wit"),
            ("C-2", "Bo"),
        }
        assert len(changes) == 3
        assert PullWatermark.objects.get(kind=SyncRunKind.PULL_UPDATES).until > watermark


@transactional
def test_after_a_restore_the_feed_numbers_on_past_the_cursor_the_linked_system_read(
    tmp_path, capsys
):
    publish_change(kind=ChangeKind.BOUNCED, external_id="C-1", payload={"type": "hard"})
    dump(tmp_path / "spotlersync.dump")
    # After the copy: a change published and read by the linked system, then the database lost.
    lost = publish_change(kind=ChangeKind.BOUNCED, external_id="C-2", payload={"type": "soft"})
    read_by_the_shop = read_changes()[-1].pk

    with restored(tmp_path / "spotlersync.dump"):
        call_command("advance_feed_cursor", "--past", str(read_by_the_shop))
        new = publish_change(kind=ChangeKind.BOUNCED, external_id="C-3", payload={"type": "hard"})

        # Without it, the new change would have had the lost one's cursor, and been skipped.
        assert f"it would have got {lost.pk}" in capsys.readouterr().out
        assert [c.pk for c in read_changes(after=read_by_the_shop)] == [new.pk]
