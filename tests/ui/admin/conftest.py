"""Admin UI fixtures: the shared ``window``/``facility`` fixtures of ``tests/ui`` with the admin
sections registered before ``attach``, as start-up (``ui.startup``) does."""

from __future__ import annotations

import pytest

from ui import admin
from ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def _admin_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    original = MainWindow.attach

    def attach(self: MainWindow, backend, demo_accounts=()):  # type: ignore[no-untyped-def]
        if not any(key in admin.ADMIN_KEYS for key, *_rest in self._sections):
            admin.register(self)
        original(self, backend, demo_accounts)

    monkeypatch.setattr(MainWindow, "attach", attach)
