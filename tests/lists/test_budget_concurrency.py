"""Two creators taking the last free slot at the same moment: one list, one clear refusal.

PostgreSQL only: SQLite has no row locks (and one writer at a time anyway)."""

import threading

import pytest
from django.db import connection

import spotler
from lists import budget
from lists.models import TempList
from tests.conftest import transactional


def client_for(sandbox) -> spotler.SpotlerClient:
    return spotler.SpotlerClient(
        base_url=sandbox.base_url,
        consumer_key=sandbox.consumer_key,
        consumer_secret=sandbox.consumer_secret,
        retry=spotler.RetryPolicy(max_retries=0),
        timeout=(2.0, 5.0),
    )


@transactional
def test_two_creators_taking_the_last_slot_get_one_list_and_one_refusal(lists_sandbox, settings):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite runs one writer at a time")
    settings.SPOTLER_TEMPLIST_LIMIT = 2
    lists_sandbox.set(templist_limit=10, latency_ms=100)  # Spotler would let both through
    lists_sandbox.control("POST", "templists", {"count": 1})
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def create(name: str) -> None:
        try:
            start.wait()
            budget.create_list(name=name, contact_ids=[], client=client_for(lists_sandbox))
            outcomes[name] = "made"
        except budget.BudgetExhausted as refusal:
            outcomes[name] = str(refusal)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in ("Marketer A", "Marketer B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(o == "made" for o in outcomes.values()) == [False, True]
    (refusal,) = [o for o in outcomes.values() if o != "made"]
    assert refusal.startswith("All 2 temporary lists of the Spotler account are in use (1 ours")
    assert TempList.objects.count() == 1
    assert len(lists_sandbox.state()["templists"]) == 2
