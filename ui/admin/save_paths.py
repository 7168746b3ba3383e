"""Where the admin screens save files: the file dialogs open in the user's documents folder
(``QStandardPaths.DocumentsLocation``; the home folder when there is none), never in the app's
own working folder. GUI thread (the dialogs are modal and read the folder, as any file dialog).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget


def documents_folder() -> Path:
    """The user's documents folder if it exists, else their home folder."""
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    folder = Path(found) if found else Path.home()
    return folder if folder.is_dir() else Path.home()


def ask_save_path(parent: QWidget, title: str, suggested: str, file_filter: str) -> str | None:
    """A "Save as" dialog starting at ``suggested`` in the documents folder; None if
    cancelled."""
    start = str(documents_folder() / suggested)
    path, _filter = QFileDialog.getSaveFileName(parent, title, start, file_filter)
    return path or None


def ask_folder(parent: QWidget, title: str) -> str | None:
    """A folder chooser starting in the documents folder; None if cancelled."""
    return QFileDialog.getExistingDirectory(parent, title, str(documents_folder())) or None
