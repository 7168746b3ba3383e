"""The installed PySide6 keeps Python's reference counts right.

PySide6 6.12.0 dropped one reference to ``None`` on every call returning nothing (``setText``,
``update``, …) or a null object (``parent()`` of a top-level widget, an empty table cell). On
Python 3.11, where ``None`` is an ordinary counted object, the interpreter then aborts with
"deallocating None" after some twenty thousand such calls — a few minutes of a med pass.
pyproject excludes that version; this test catches any other with the same fault."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QLabel, QTableWidget, QWidget

CALLS = 200


def _none_refs_lost(action: object) -> int:
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        action()  # type: ignore[operator]
    return before - sys.getrefcount(None)


def test_calls_returning_none_keep_the_reference_to_none(qapp: QApplication) -> None:
    label = QLabel()
    top = QWidget()
    table = QTableWidget(1, 1)
    for action in (lambda: label.setText("x"), top.update, top.parent,
                   lambda: table.item(0, 0)):
        # a few references may come and go with the interpreter's own caches; a leak loses
        # one per call
        assert _none_refs_lost(action) < CALLS // 2
