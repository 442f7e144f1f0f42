"""A run's progress line: percent, contacts per second and time left, from its counters."""

from datetime import UTC, datetime, timedelta

import pytest

from sync.models import SyncRun, SyncRunKind, SyncRunStatus, SyncRunTrigger
from sync.progress import (
    duration_words,
    is_stale,
    measure_progress,
    run_progress,
    scope_in_words,
)

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_a_run_a_quarter_done_after_ten_seconds_has_thirty_seconds_left():
    progress = measure_progress(
        done=50, total=200, started_at=START, now=START + timedelta(seconds=10)
    )
    assert progress.percent == 25
    assert progress.rate == 5.0
    assert progress.eta == timedelta(seconds=30)
    assert progress.eta_words == "30 s"


def test_without_a_total_there_is_a_rate_but_no_percent_and_no_time_left():
    progress = measure_progress(
        done=40, total=None, started_at=START, now=START + timedelta(seconds=20)
    )
    assert (progress.percent, progress.rate, progress.eta) == (None, 2.0, None)


def test_a_run_that_has_not_started_or_done_nothing_has_no_rate_and_no_time_left():
    assert measure_progress(done=0, total=100, started_at=None, now=START).rate is None
    idle = measure_progress(done=0, total=100, started_at=START, now=START + timedelta(minutes=1))
    assert (idle.percent, idle.rate, idle.eta) == (0, None, None)


def test_a_finished_run_has_no_time_left_and_an_empty_selection_is_whole():
    finished = measure_progress(
        done=100, total=100, started_at=START, now=START + timedelta(seconds=4), finished=True
    )
    assert (finished.percent, finished.eta) == (100, None)
    assert measure_progress(done=0, total=0, started_at=START, now=START).percent == 100


def test_the_percent_never_passes_100_even_if_more_was_done_than_counted():
    progress = measure_progress(done=120, total=100, started_at=START, now=START + timedelta(1))
    assert progress.percent == 100
    assert progress.eta == timedelta(0)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "0 s"), (45, "45 s"), (60, "1 min"), (185, "3 min 5 s"), (7800, "2 h 10 min")],
)
def test_durations_read_short(seconds, words):
    assert duration_words(timedelta(seconds=seconds)) == words


def make_run(**fields) -> SyncRun:
    defaults = {"kind": SyncRunKind.BACKFILL, "trigger": SyncRunTrigger.DASHBOARD}
    return SyncRun(**(defaults | fields))


def test_a_succeeded_run_without_a_total_shows_whole_and_a_running_one_does_not():
    done = make_run(
        kind=SyncRunKind.PULL_UPDATES, status=SyncRunStatus.SUCCEEDED, done=7,
        started_at=START, finished_at=START + timedelta(seconds=2),
    )  # fmt: skip
    assert run_progress(done, now=START + timedelta(hours=1)).percent == 100
    running = make_run(kind=SyncRunKind.PUSH, status=SyncRunStatus.RUNNING, started_at=START)
    assert run_progress(running, now=START + timedelta(seconds=5)).percent is None


def test_a_running_run_whose_worker_went_quiet_is_stale_and_a_finished_one_never():
    now = START + timedelta(minutes=10)
    quiet = make_run(status=SyncRunStatus.RUNNING, heartbeat_at=now - timedelta(seconds=121))
    lively = make_run(status=SyncRunStatus.RUNNING, heartbeat_at=now - timedelta(seconds=5))
    ended = make_run(status=SyncRunStatus.SUCCEEDED, heartbeat_at=START)
    assert is_stale(quiet, now=now, stale_seconds=120)
    assert not is_stale(lively, now=now, stale_seconds=120)
    assert not is_stale(ended, now=now, stale_seconds=120)


def test_a_backfills_filters_read_as_words():
    run = make_run(
        filters={"failed_only": True, "language": "nl", "account_manager": "Joost",
                 "ids": [f"C-{n}" for n in range(12)]},
        window_start=datetime(2026, 11, 22, 8, 0, tzinfo=UTC),
    )  # fmt: skip
    assert scope_in_words(run) == [
        "the 12 contacts C-0, C-1, C-2, C-3, C-4, C-5, C-6, C-7, C-8, C-9 and 2 more",
        "only contacts whose last sync failed",
        "language nl",
        "account manager Joost",
        "changed since 22 Nov 2026 09:00:00",  # Amsterdam time
    ]
    assert scope_in_words(make_run(filters={"ids": ["C-1"]})) == ["the contact C-1"]
    assert scope_in_words(make_run()) == ["every contact in the ledger"]
