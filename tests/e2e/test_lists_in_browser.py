"""A Marketer builds a selection by language, sends it as a temporary list (a real queue cluster
sends it to the sandbox), sees it counted against the budget beside another system's list, and
deletes it. And every state of the lists pages fits the page at 1280 and 1440 px."""

import os
import re
import time
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from contacts.batch import upsert_contacts
from contacts.models import Contact
from lists import budget
from lists.models import TempList, TempListState
from lists.selection import SelectionFilters, select_contacts
from tests.conftest import transactional
from tests.e2e.screens import assert_fits, look_at
from tests.helpers import sandbox_client
from tests.lists.helpers import contacts_in_spotler, ledger_has
from tests.queue_cluster import running_cluster

# Screenshots for a person to look at (not compared): LISTS_SCREENSHOTS=/some/folder.
SCREENSHOTS = os.environ.get("LISTS_SCREENSHOTS", "")


@transactional
def test_a_marketer_sends_a_selection_by_language_sees_it_in_the_budget_and_deletes_it(
    live_server, page, log_in, lists_sandbox
):
    dutch = contacts_in_spotler(lists_sandbox, 3, language="nl")
    contacts_in_spotler(lists_sandbox, 2, language="de", start=10)
    ledger_has(["GONE-1"], language="nl")
    Contact.objects.filter(external_id="GONE-1").update(inactivated_at="2024-01-01T00:00Z")
    lists_sandbox.control("POST", "templists", {"consumer_key": "crm", "count": 1})
    env = {"SPOTLER_BASE_URL": lists_sandbox.base_url}

    with running_cluster(workers=1, extra_env=env):
        log_in("marit", "Marketer")
        page.goto(f"{live_server.url}/lists/")
        expect(page.get_by_test_id("list-budget")).to_contain_text("1 of 30")
        page.get_by_role("button", name="Make a selection").click()

        filters = page.get_by_test_id("selection-filters")
        filters.get_by_label("Language").select_option("nl")
        filters.get_by_role("button", name="Preview").click()
        expect(page.get_by_test_id("selection-size")).to_have_text("3 contacts would be sent.")
        sample = page.get_by_test_id("selection-sample").inner_text()
        assert sorted(re.findall(r"C-\d+", sample)) == dutch
        expect(page.get_by_test_id("left-out")).to_have_text("1 left out: inactive")

        form = page.get_by_test_id("send-form")
        form.get_by_label("List name").fill("Dutch guests")
        form.get_by_role("button", name="Send as a temporary list").click()
        expect(page).to_have_url(re.compile(r"/lists/\d+/$"))
        # The page follows the sending by itself (no reload).
        expect(page.get_by_test_id("list-state")).to_have_text(
            "Complete: 3 of 3 contacts sent.", timeout=30_000
        )

        page.get_by_role("link", name="← Temporary lists").click()
        expect(page.get_by_test_id("list-budget")).to_contain_text(
            "2 of 30 temporary lists in use in the Spotler account (1 ours, 1 other systems'); "
            "28 free."
        )
        ours = page.get_by_test_id("our-list")
        expect(ours).to_have_count(1)
        expect(ours.first).to_contain_text("Dutch guests")
        expect(ours.first).to_contain_text("3 of 3")
        theirs = page.get_by_test_id("other-list")
        expect(theirs).to_have_text(re.compile(r"crm-1 \(another system's\)"))
        expect(theirs.get_by_role("checkbox")).to_have_count(0)
        look_at(page, "lists-sent", folder=SCREENSHOTS)

        page.get_by_label("Delete Dutch guests").check()
        page.get_by_role("button", name="Delete the ticked lists").click()
        expect(page.get_by_text("“Dutch guests” is being deleted.")).to_be_visible()
        deadline = time.monotonic() + 30
        while TempList.objects.get(name="Dutch guests").state != TempListState.DELETED:
            assert time.monotonic() < deadline, "the delete never ran"
            time.sleep(0.3)
        page.reload()
        expect(page.get_by_test_id("list-budget")).to_contain_text("1 of 30")
        expect(page.get_by_test_id("our-list")).to_have_count(0)
        assert_fits(page, "the lists page after the delete")

    kept = [t["externalTemporaryListId"] for t in lists_sandbox.state()["templists"]]
    assert kept == ["crm-1"]


def our_list(client, name: str, **fields) -> TempList:
    """A list of ours, in the sandbox and in the ledger, in the state `fields` say."""
    made = TempList.objects.create(
        name=name, spotler_id=f"spotlersync-{TempList.objects.count() + 1:04d}", **fields
    )
    client.create_temporary_list(list_id=made.spotler_id, name=name)
    return made


@transactional
def test_every_state_of_the_lists_pages_fits_at_1280_and_1440(
    live_server, page, log_in, lists_sandbox, settings
):
    spotler_client = sandbox_client(lists_sandbox)
    log_in("marit", "Marketer")
    page.goto(f"{live_server.url}/lists/")
    expect(page.get_by_test_id("our-lists")).to_contain_text("No lists of ours.")
    look_at(page, "lists-empty", folder=SCREENSHOTS)

    ids = [f"C-{n}" for n in range(250)]
    our_list(
        spotler_client, "Customers who bought the winter collection", contact_ids=ids,
        checkpoint=250, state=TempListState.COMPLETE, expires_at=timezone.now() + timedelta(30),
    )  # fmt: skip
    page.reload()
    expect(page.get_by_test_id("our-list")).to_have_count(1)
    look_at(page, "lists-one", folder=SCREENSHOTS)

    long_error = (
        "Spotler answered 400 INVALID_PARAMS: One or more contacts could not be found: "
        + ", ".join(f"C-{n:07d}" for n in range(40))
    )
    failed = our_list(
        spotler_client, "Guests of the spring event in Amsterdam-Zuidoost (invited by mail)",
        contact_ids=ids, checkpoint=100, state=TempListState.FAILED, error=long_error,
        left_out={"inactive": 2, "permissions_off": 1, "erased": 0},
    )  # fmt: skip
    in_use = our_list(
        spotler_client, "Everyone of account manager Youssef El Amrani",
        contact_ids=ids[:40], checkpoint=40, state=TempListState.DELETE_PENDING_IN_USE,
        next_delete_at=timezone.now() + timedelta(minutes=15),
        error="Spotler answered 400 INVALID_STATE: Temporary list in use",
    )  # fmt: skip
    for n in range(8):
        our_list(
            spotler_client, f"Newsletter test group {n} with a rather long descriptive name",
            contact_ids=ids[: n * 10], checkpoint=n * 5, state=TempListState.SENDING,
        )  # fmt: skip
    # A name without spaces (as another system's tooling makes them) must not widen the table.
    unbroken = our_list(
        spotler_client, "export_" + "_".join(["winter_collection_2026"] * 6),
        contact_ids=ids[:3], checkpoint=3, state=TempListState.COMPLETE,
    )  # fmt: skip
    lists_sandbox.control(
        "POST", "templists", {"consumer_key": "crm_of_the_shop_" + "x" * 100, "count": 1}
    )
    lists_sandbox.control("POST", "templists", {"consumer_key": "crm-of-the-shop", "count": 4})
    page.reload()
    expect(page.get_by_test_id("our-list")).to_have_count(12)
    expect(page.get_by_test_id("other-list")).to_have_count(5)
    expect(page.get_by_test_id("our-lists")).to_contain_text("Delete pending: a mailing uses it")
    look_at(page, "lists-many", folder=SCREENSHOTS)

    page.goto(f"{live_server.url}/lists/{unbroken.pk}/")
    expect(page.get_by_test_id("list-state")).to_have_text("Complete: 3 of 3 contacts sent.")
    look_at(page, "lists-unbroken-name", folder=SCREENSHOTS)

    page.goto(f"{live_server.url}/lists/{failed.pk}/")
    expect(page.get_by_test_id("list-error")).to_contain_text("could not be found")
    expect(page.get_by_role("button", name="Resume from contact 101")).to_be_visible()
    expect(page.get_by_test_id("list-left-out")).to_have_text("2 inactive; 1 all permissions off")
    look_at(page, "lists-failed", folder=SCREENSHOTS)

    page.goto(f"{live_server.url}/lists/{in_use.pk}/")
    expect(page.get_by_test_id("list-in-use")).to_contain_text("in use")
    expect(page.get_by_test_id("list-left-out")).to_have_text("nobody")
    look_at(page, "lists-in-use", folder=SCREENSHOTS)

    pushing = our_list(
        spotler_client, "Guests of the autumn fair", contact_ids=ids[:30],
        state=TempListState.PUSHING, to_push=12,
    )  # fmt: skip
    page.goto(f"{live_server.url}/lists/{pushing.pk}/")
    expect(page.get_by_test_id("list-state")).to_have_text(
        "Pushing contacts to Spotler first: 0 of 30 contacts sent."
    )
    expect(page.get_by_test_id("list-pushing")).to_contain_text(
        "Pushing 12 contacts to Spotler first"
    )
    look_at(page, "lists-pushing", folder=SCREENSHOTS)
    # Its worker pushes them and one is refused: the page follows without a reload.
    TempList.objects.filter(pk=pushing.pk).update(
        state=TempListState.COMPLETE, contact_ids=ids[:29], checkpoint=29, to_push=0,
        pushed_first=11, left_out={"push_failed": 1},
    )  # fmt: skip
    expect(page.get_by_test_id("list-state")).to_have_text("Complete: 29 of 29 contacts sent.")
    expect(page.get_by_test_id("list-pushed-first")).to_have_text(
        "11 contacts were pushed to Spotler first."
    )
    expect(page.get_by_test_id("list-push-failed")).to_contain_text(
        "1 contact could not be pushed to Spotler and is left out"
    )
    page.reload()
    expect(page.get_by_test_id("list-left-out")).to_have_text("1 could not be pushed to Spotler")
    look_at(page, "lists-pushed-first", folder=SCREENSHOTS)

    for n in range(12):
        external_id = f"NL-{n:03d}-amelia.williams.{1990 + n}"
        ledger_has([external_id], language="nl")
    Contact.objects.filter(external_id__startswith="NL-").update(synced_at=None)
    Contact.objects.filter(external_id__startswith="NL-00").update(sync_status="failed")
    contacts_in_spotler(lists_sandbox, 12, language="nl", start=500)
    page.goto(f"{live_server.url}/lists/new/?language=nl")
    expect(page.get_by_test_id("selection-size")).to_have_text("14 contacts would be sent.")
    expect(page.get_by_test_id("selection-to-push")).to_have_text(
        "2 of them are not in Spotler yet: they are pushed first, then added to the list."
    )
    expect(page.get_by_test_id("left-out")).to_contain_text(
        "10 left out: could not be pushed to Spotler"
    )
    look_at(page, "lists-selection", folder=SCREENSHOTS)

    settings.SPOTLER_TEMPLIST_LIMIT = 17
    page.get_by_test_id("send-form").get_by_label("List name").fill("One too many")
    page.get_by_role("button", name="Send as a temporary list").click()
    expect(page.get_by_role("status")).to_contain_text(
        "All 17 temporary lists of the Spotler account are in use"
    )
    expect(page.get_by_test_id("list-budget-full")).to_be_visible()
    look_at(page, "lists-exhausted", folder=SCREENSHOTS)
    assert not TempList.objects.filter(name="One too many").exists()


@transactional
def test_a_marketer_refreshes_a_list_and_follows_its_replacement(
    live_server, page, log_in, lists_sandbox
):
    ids = contacts_in_spotler(lists_sandbox, 3, language="nl")
    env = {"SPOTLER_BASE_URL": lists_sandbox.base_url}

    with running_cluster(workers=1, extra_env=env):
        made = budget.create_list(
            name="Dutch guests",
            contact_ids=select_contacts(SelectionFilters(language="nl")).ids,
            filters={"language": "nl"},
        )
        log_in("marit", "Marketer")
        page.goto(f"{live_server.url}/lists/{made.pk}/")
        expect(page.get_by_test_id("list-state")).to_have_text(
            "Complete: 3 of 3 contacts sent.", timeout=30_000
        )
        expect(page.get_by_test_id("refresh-form")).to_contain_text("needs one free slot")
        look_at(page, "lists-refresh-before", folder=SCREENSHOTS)

        contacts_in_spotler(lists_sandbox, 1, language="nl", start=10)
        page.get_by_role("button", name="Refresh").click()
        expect(page.get_by_role("status")).to_have_text(
            "1 contact added to “Dutch guests”; they are being sent."
        )
        expect(page.get_by_test_id("list-state")).to_have_text(
            "Complete: 4 of 4 contacts sent.", timeout=30_000
        )
        look_at(page, "lists-refresh-added", folder=SCREENSHOTS)

        upsert_contacts(
            items=[{"external_id": ids[1], "email": "c-1@example.nl", "language": "nl",
                    "newsletter": False}]
        )  # fmt: skip
        page.get_by_role("button", name="Refresh").click()
        replacement = TempList.objects.get(replaces=made)
        expect(page).to_have_url(f"{live_server.url}/lists/{replacement.pk}/")
        expect(page.get_by_role("status")).to_contain_text(
            f"1 contact must leave “Dutch guests”, and Spotler can only add to a list: it is "
            f"replaced by “{replacement.name}” (3 contacts), and the old list is deleted once "
            "the new one is complete."
        )
        expect(page.get_by_test_id("list-state")).to_have_text(
            "Complete: 3 of 3 contacts sent.", timeout=30_000
        )
        expect(page.get_by_test_id("list-replaces")).to_contain_text("“Dutch guests”")
        look_at(page, "lists-refresh-replaced", folder=SCREENSHOTS)

        deadline = time.monotonic() + 30
        while TempList.objects.get(pk=made.pk).state != TempListState.DELETED:
            assert time.monotonic() < deadline, "the old list was never deleted"
            time.sleep(0.3)
        page.get_by_test_id("list-replaces").get_by_role("link").click()
        expect(page.get_by_test_id("list-state")).to_contain_text("Deleted")
        expect(page.get_by_test_id("list-replaced-by")).to_contain_text(replacement.name)
        expect(page.get_by_test_id("refresh-form")).to_have_count(0)
        look_at(page, "lists-refresh-old", folder=SCREENSHOTS)

    kept = [t["externalTemporaryListId"] for t in lists_sandbox.state()["templists"]]
    assert kept == [replacement.spotler_id]
