import threading
import time

import pytest
from django.db import connection, transaction

from contacts.feed import publish_change, publish_changes, read_changes
from contacts.models import Change, ChangeKind
from tests.conftest import transactional
from tests.contacts.conftest import anna


def publish(n: int, *, kind: ChangeKind = ChangeKind.PROFILE_CHANGED) -> list[Change]:
    return [
        publish_change(kind=kind, external_id=f"C{i}", payload={"firstName": f"Name {i}"})
        for i in range(n)
    ]


def test_the_feed_lists_changes_oldest_first_with_their_cursors(read_api):
    publish_change(kind=ChangeKind.PROFILE_CHANGED, external_id="C1", payload={"city": "Delft"})
    publish_change(
        kind=ChangeKind.PERMISSION_CHANGED, external_id="C1", payload={"newsletter": False}
    )
    publish_change(kind=ChangeKind.BOUNCED, external_id="C2", payload={"type": "hard"})

    body = read_api.get("changes").json()

    kinds = [(c["kind"], c["external_id"]) for c in body["changes"]]
    assert kinds == [("profile_changed", "C1"), ("permission_changed", "C1"), ("bounced", "C2")]
    cursors = [c["cursor"] for c in body["changes"]]
    assert cursors == sorted(cursors)
    assert body["next_cursor"] == cursors[-1]
    assert body["changes"][1]["payload"] == {"newsletter": False}


def test_a_reader_resumes_from_its_cursor_and_gets_exactly_the_rest(read_api):
    published = publish(25)
    seen = []

    first = read_api.get("changes?limit=10").json()
    seen += [c["cursor"] for c in first["changes"]]
    saved_cursor = first["next_cursor"]
    # The reader crashes here; the cursor it saved is all it remembers. Meanwhile more arrive.
    published += publish(5, kind=ChangeKind.BOUNCED)

    cursor = saved_cursor
    while True:
        page = read_api.get(f"changes?after={cursor}&limit=7").json()
        if not page["changes"]:
            break
        seen += [c["cursor"] for c in page["changes"]]
        cursor = page["next_cursor"]

    assert seen == [change.id for change in published]
    assert len(seen) == len(set(seen)) == 30


def test_an_empty_page_keeps_the_cursor_where_it_was(read_api):
    body = read_api.get("changes?after=41").json()

    assert body == {"changes": [], "next_cursor": 41}


def test_the_limit_defaults_to_100_and_is_capped_at_1000(db):
    publish(150)

    assert len(read_changes()) == 100
    assert len(read_changes(limit=5000)) == 150


def test_erasing_a_contact_also_removes_what_came_back_about_it(api):
    api.put("contacts/C1", anna())
    publish_change(kind=ChangeKind.PROFILE_CHANGED, external_id="C1", payload={"city": "Delft"})
    publish_change(kind=ChangeKind.BOUNCED, external_id="C2", payload={})

    api.delete("contacts/C1")

    assert list(Change.objects.values_list("external_id", flat=True)) == ["C2"]


def test_nothing_is_published_about_an_erased_contact(api, read_api):
    api.put("contacts/C1", anna())
    api.delete("contacts/C1")

    published = publish_change(kind=ChangeKind.BOUNCED, external_id="C1", payload={"type": "hard"})

    assert published is None
    assert read_api.get("changes").json()["changes"] == []


def test_a_page_of_changes_is_published_in_its_order_leaving_out_erased_contacts(api, read_api):
    api.put("contacts/C1", anna())
    api.delete("contacts/C1")

    publish_changes(
        [Change(kind=ChangeKind.PROFILE_CHANGED, external_id=f"C{i}", payload={"n": i})
         for i in (3, 1, 2)]
    )  # fmt: skip

    body = read_api.get("changes").json()
    assert [(c["external_id"], c["payload"]) for c in body["changes"]] == [
        ("C3", {"n": 3}), ("C2", {"n": 2})
    ]  # fmt: skip
    assert body["changes"][0]["cursor"] < body["changes"][1]["cursor"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's sequences only")
@transactional
def test_a_change_that_commits_late_is_never_skipped_by_a_reader():
    # A publishes and holds its transaction open; B publishes meanwhile. Without the lock, B
    # could take a higher cursor and commit first, and a reader would move past A's row.
    a_published = threading.Event()
    b_done = threading.Event()
    order = []

    def publisher_a():
        with transaction.atomic():
            order.append(("a", publish_change(kind="bounced", external_id="A", payload={}).id))
            a_published.set()
            time.sleep(0.5)
        connection.close()

    def publisher_b():
        a_published.wait(5)
        with transaction.atomic():
            order.append(("b", publish_change(kind="bounced", external_id="B", payload={}).id))
        b_done.set()
        connection.close()

    threads = [threading.Thread(target=publisher_a), threading.Thread(target=publisher_b)]
    for thread in threads:
        thread.start()
    a_published.wait(5)
    time.sleep(0.2)
    seen_while_a_is_open = read_changes()
    assert not b_done.is_set()  # B waits for A's commit before it takes its cursor
    for thread in threads:
        thread.join(10)

    assert seen_while_a_is_open == []
    assert [name for name, _ in sorted(order, key=lambda item: item[1])] == ["a", "b"]
    assert [c.external_id for c in read_changes()] == ["A", "B"]
