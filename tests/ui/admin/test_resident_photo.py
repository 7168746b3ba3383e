"""A resident's photo: picked on the admission form (read and scaled on the worker), stored in
the signed resident record, shown on the MAR and the dose screen; a file that is no image is
refused at the field."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage

from mar_desktop.errors import ValidationError
from tests.ui.admin.steps import dialog_of, open_section, select_row, submit
from tests.ui.harness import METOPROLOL_GTIN, Facility1, med_scan
from tests.ui.steps import idle, open_resident_by_wristband, scan, sign_in, tap, wait
from ui.admin.photos import MAX_SIDE, photo_from_file
from ui.admin.resident_dialogs import ResidentDialog
from ui.main_window import MainWindow


def _photo_file(folder: Path, width: int = 900, height: int = 600) -> Path:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#3c5a78"))
    path = folder / "photo.jpg"
    assert image.save(str(path))  # JPEG, from the suffix
    return path


def test_a_photo_file_is_scaled_to_fit_and_stored_as_png(qapp: object, tmp_path: Path) -> None:
    stored = base64.b64decode(photo_from_file(str(_photo_file(tmp_path))))
    assert stored.startswith(b"\x89PNG")
    image = QImage.fromData(stored)
    assert (image.width(), image.height()) == (MAX_SIDE, MAX_SIDE * 600 // 900)


def test_a_file_that_is_no_image_is_refused(qapp: object, tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    with pytest.raises(ValidationError, match="not a photo"):
        photo_from_file(str(text))


def test_a_photo_set_by_the_admin_shows_on_the_mar_and_the_dose_screen(
    qtbot, window: MainWindow, facility: Facility1, tmp_path: Path
) -> None:
    sign_in(qtbot, window, facility, "admin")
    screen = open_section(qtbot, window, "admin_residents")
    select_row(qtbot, screen.table, "Holloway", column=1)
    tap(qtbot, screen.resident_actions["edit"])
    dialog = dialog_of(qtbot, ResidentDialog)
    assert not dialog.photo.preview.has_photo
    dialog.photo.file_chosen.emit(str(_photo_file(tmp_path)))  # as Choose photo… does
    wait(qtbot, lambda: dialog.photo.photo() is not None)
    assert dialog.photo.preview.has_photo
    submit(qtbot, window, dialog)
    wait(qtbot, lambda: not dialog.isVisible())
    idle(qtbot, window)
    saved = window.runner.run_on_worker(lambda: facility.store.reader().resident("r1"))
    assert saved is not None and saved.photo_png_b64

    window.sign_out()
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB100001")
    assert window.mar.identity.photo.has_photo
    scan(qtbot, window.mar.scan, med_scan(METOPROLOL_GTIN))
    wait(qtbot, lambda: window.stack.currentWidget() is window.administration)
    assert window.administration.bedside.photo.has_photo
