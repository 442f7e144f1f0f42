"""After a restore, the changes feed numbers on past the cursor the linked system has read
(`manage.py advance_feed_cursor`), so a reader ahead of the restored copy misses nothing new.
tests/sync/test_backup_restore.py does it with a real pg_dump and pg_restore."""

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEntry
from contacts.feed import publish_change
from contacts.models import ChangeKind


def publish(external_id: str):
    return publish_change(
        kind=ChangeKind.PROFILE_CHANGED, external_id=external_id, payload={"city": "Delft"}
    )


def advance(*args: str, capsys) -> str:
    call_command("advance_feed_cursor", *args)
    return capsys.readouterr().out


def test_a_reader_past_the_feed_gets_the_next_change_once_the_feed_is_advanced(read_api, capsys):
    last = publish("C1").pk
    read_by_the_shop = last + 40  # cursors handed out after the backup, lost with the database

    said = advance("--past", str(read_by_the_shop), capsys=capsys)
    new = publish("C2")

    assert said.strip() == (
        f"The next change gets cursor {read_by_the_shop + 1} (it would have got {last + 1})."
    )
    page = read_api.get(f"changes?after={read_by_the_shop}").json()
    assert [c["cursor"] for c in page["changes"]] == [new.pk] == [read_by_the_shop + 1]
    entry = AuditEntry.objects.get(object_type="changes feed")
    assert (entry.action, entry.actor_label) == ("advanced", "manage.py advance_feed_cursor")
    assert entry.changes == {"next_cursor": [last + 1, read_by_the_shop + 1]}


def test_the_margin_counts_from_the_feeds_last_change(db, capsys):
    last = publish("C1").pk

    advance("--margin", "100", capsys=capsys)

    assert publish("C2").pk == last + 101


def test_the_feed_is_never_numbered_back(db, capsys):
    publish("C1")
    latest = publish("C2").pk

    said = advance("--past", "1", capsys=capsys)

    assert said.strip() == f"The next change already gets cursor {latest + 1}; nothing to move."
    assert publish("C3").pk == latest + 1
    assert not AuditEntry.objects.filter(object_type="changes feed").exists()


@pytest.mark.parametrize("args", [["--past", "-1"], ["--margin", "-5"], []])
def test_a_negative_or_missing_cursor_is_refused_in_words(db, args):
    with pytest.raises(CommandError):
        call_command("advance_feed_cursor", *args)
