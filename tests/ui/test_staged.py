"""ui.staged.StagedBuild: one step per event-loop turn, a failing step stops the build."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from ui.staged import StagedBuild


def test_steps_run_in_order_with_the_event_loop_turning_between_them(qtbot) -> None:
    owner = QObject()
    log: list[str] = []
    ticks: list[int] = []
    ticker = QTimer(owner)
    ticker.setInterval(0)
    ticker.timeout.connect(lambda: ticks.append(len(log)))
    ticker.start()
    build = StagedBuild([lambda i=i: log.append(f"step{i}") for i in range(4)], owner)
    finished: list[bool] = []
    build.finished.connect(lambda: finished.append(True))
    build.start()
    assert log == []  # start() only schedules
    qtbot.waitUntil(lambda: build.done)
    ticker.stop()
    assert log == ["step0", "step1", "step2", "step3"]
    assert finished == [True]
    # other timers ran between the steps: the loop was never held for the whole build
    assert {1, 2, 3} <= set(ticks)


def test_a_failing_step_stops_the_build_and_says_so(qtbot) -> None:
    owner = QObject()
    log: list[str] = []

    def broken() -> None:
        raise RuntimeError("a bug in a screen's constructor")

    build = StagedBuild([lambda: log.append("a"), broken, lambda: log.append("never")], owner)
    failures: list[str] = []
    build.failed.connect(failures.append)
    build.finished.connect(lambda: log.append("finished"))
    with qtbot.waitSignal(build.failed, timeout=2000):
        build.start()
    qtbot.wait(20)
    assert log == ["a"]
    assert not build.done
    assert failures and "could not finish opening" in failures[0]


def test_stop_drops_the_steps_not_yet_run(qtbot) -> None:
    owner = QObject()
    log: list[int] = []
    build: StagedBuild

    def first() -> None:
        log.append(1)
        build.stop()

    build = StagedBuild([first, lambda: log.append(2)], owner)
    build.start()
    qtbot.wait(30)
    assert log == [1]


def test_steps_a_step_returns_run_next_in_their_own_turns(qtbot) -> None:
    owner = QObject()
    log: list[str] = []

    def screen() -> list:
        log.append("screen")
        return [lambda: log.append("section 1"), lambda: log.append("section 2")]

    build = StagedBuild([screen, lambda: log.append("next screen")], owner)
    build.start()
    qtbot.waitUntil(lambda: build.done)
    assert log == ["screen", "section 1", "section 2", "next screen"]
