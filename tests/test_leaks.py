"""The leak checks find what a test leaves running and nothing else."""

from __future__ import annotations

import threading

from tests.leaks import running_thread_ids, threads_started_since


def test_a_thread_still_running_is_found_and_one_that_ended_is_not() -> None:
    before = running_thread_ids()
    stop = threading.Event()
    stays = threading.Thread(target=stop.wait, name="left-behind")
    ends = threading.Thread(target=lambda: None, name="ends")
    stays.start()
    ends.start()
    try:
        left = threads_started_since(before, grace_s=0.2)
        assert [thread.name for thread in left] == ["left-behind"]
    finally:
        stop.set()
        stays.join()
    assert threads_started_since(before, grace_s=0.2) == []


def test_a_thread_that_ends_within_the_grace_is_not_counted() -> None:
    before = running_thread_ids()
    stop = threading.Event()
    slow = threading.Thread(target=stop.wait, args=(0.3,), name="slow-to-stop")
    slow.start()
    assert threads_started_since(before, grace_s=3.0) == []
