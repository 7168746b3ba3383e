"""The PRN follow-up dialog asks for its one required choice on the form: saving without an
effectiveness choice says what is missing, sends nothing, and keeps Save usable (it used to
reach the service and come back as 'Something went wrong')."""

from __future__ import annotations

from PySide6.QtCore import Qt

from ui.main_window import MainWindow
from ui.screens.dialogs import FollowupDialog


def test_saving_a_follow_up_without_its_effect_names_the_missing_choice(
    qtbot: object, window: MainWindow
) -> None:
    dialog = FollowupDialog("Acetaminophen 500 mg", window)
    qtbot.addWidget(dialog)  # type: ignore[attr-defined]
    sent: list[dict[str, object]] = []
    dialog.submitted.connect(sent.append)
    dialog.show()
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert sent == []
    assert "Choose how well it worked" in dialog.banner.text()
    assert dialog.ok.isEnabled()
    dialog.group.buttons()[0].click()
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert sent and sent[0]["effective"] == "effective"
