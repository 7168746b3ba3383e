"""A resident's photo on the admission form: pick an image file, shown as the bedside will show
it; remove it. The file is read and scaled on the worker (:func:`photo_from_file`), never on the
GUI thread; what is stored is a PNG of at most ``MAX_SIDE`` px (``Resident.photo_png_b64``),
inside the resident's signed record, so every tablet shows the same face.
"""

from __future__ import annotations

import base64

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QImageWriter
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QVBoxLayout, QWidget

from mar_desktop.errors import ValidationError
from mar_desktop.model import Resident
from ui.widgets.common import button, label
from ui.widgets.identity import ResidentPhoto

MAX_SIDE = 192
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.webp)"


def photo_from_file(path: str) -> str:
    """The image at ``path``, turned upright, scaled to fit ``MAX_SIDE`` px and encoded as a
    base64 PNG. Worker thread (reads the file). Raises ValidationError for a file that is no
    image this app can read."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > MAX_SIDE:
        reader.setScaledSize(size.scaled(MAX_SIDE, MAX_SIDE, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        raise ValidationError("This file is not a photo this app can read (use PNG or JPEG).")
    if max(image.width(), image.height()) > MAX_SIDE:
        image = image.scaled(MAX_SIDE, MAX_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
    return _png_b64(image.convertToFormat(QImage.Format.Format_RGB888))


def _png_b64(image: QImage) -> str:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    written = QImageWriter(buffer, QByteArray(b"PNG")).write(image)
    buffer.close()
    if not written:
        raise ValidationError("The photo could not be stored as PNG.")
    return base64.b64encode(bytes(data.data())).decode("ascii")


class PhotoPicker(QWidget):
    """The photo as the bedside shows it, with Choose and Remove. ``file_chosen(path)`` asks the
    screen to read the file on the worker and hand the result to :meth:`set_photo`."""

    file_chosen = Signal(str)

    def __init__(self, resident: Resident | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._resident = resident
        self._photo: str | None = resident.photo_png_b64 if resident else None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.preview = ResidentPhoto(96)
        row.addWidget(self.preview)
        side = QVBoxLayout()
        self.note = label("", "muted", wrap=True)
        side.addWidget(self.note)
        buttons = QHBoxLayout()
        buttons.addWidget(button("Choose photo…", "", self.choose, name="choosePhoto"))
        self.remove_button = button("Remove photo", "", self.remove, name="removePhoto")
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        side.addLayout(buttons)
        row.addLayout(side, 1)
        self._show()

    def photo(self) -> str | None:
        return self._photo

    def set_photo(self, photo_b64: str | None) -> None:
        self._photo = photo_b64
        self._show()

    def show_error(self, error: BaseException) -> None:
        self.note.setText(str(error) if isinstance(error, ValidationError)
                          else "The photo could not be read.")

    def choose(self) -> None:
        from PySide6.QtCore import QStandardPaths

        start = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
        path, _filter = QFileDialog.getOpenFileName(self, "Choose the resident's photo", start,
                                                    IMAGE_FILTER)
        if path:
            self.note.setText("Reading the photo…")
            self.file_chosen.emit(path)

    def remove(self) -> None:
        self.set_photo(None)

    def _show(self) -> None:
        who = self._resident
        self.preview.show_photo(self._photo,
                                who.given_name[:1] + who.family_name[:1] if who else "")
        self.remove_button.setEnabled(self._photo is not None)
        self.note.setText("Shown on the MAR and the dose screen to match the resident's face."
                          if self._photo else "No photo: the initials are shown instead.")
