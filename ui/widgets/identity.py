"""The resident identity banner: photo (or initials placeholder), name, room, date of birth
and allergies in red with a warning glyph and words. Shows PHI: ``clear()`` empties every
label (the lock calls it). GUI thread only."""

from __future__ import annotations

import base64
from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from mar_desktop.model import Resident
from ui import theme


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def allergy_text(resident: Resident) -> str:
    if not resident.allergies:
        return "No known allergies"
    parts = []
    for allergy in resident.allergies:
        detail = f" ({allergy.reaction})" if allergy.reaction else ""
        parts.append(f"{allergy.substance}{detail}")
    return "ALLERGIES: " + "; ".join(parts)


class ResidentPhoto(QLabel):
    """The resident's photo at ``size`` px, or their initials when there is none: a face to
    match at the bedside before a dose. Shows PHI: ``clear()`` empties it."""

    def __init__(self, size: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("photo")
        self.setFixedSize(size, size)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._size = size

    def show_resident(self, resident: Resident) -> None:
        self.show_photo(resident.photo_png_b64, resident.given_name[:1] + resident.family_name[:1])

    def show_photo(self, photo_png_b64: str | None, initials: str) -> None:
        """The photo (base64 PNG or JPEG), or ``initials`` when there is none or it is
        unreadable."""
        self.clear()
        pixmap = QPixmap()
        if photo_png_b64 and pixmap.loadFromData(base64.b64decode(photo_png_b64, validate=False)):
            self.setPixmap(pixmap.scaled(
                self._size, self._size, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            ))
            self.setToolTip("Photo on file")
        else:
            self.setText(initials)
            self.setToolTip("No photo on file")

    @property
    def has_photo(self) -> bool:
        pixmap = self.pixmap()
        return pixmap is not None and not pixmap.isNull()


class IdentityBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("identity")
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 12, 14, 12)
        row.setSpacing(16)
        self.photo = ResidentPhoto(96)
        row.addWidget(self.photo)
        text = QVBoxLayout()
        text.setSpacing(4)
        self.name = QLabel()
        self.name.setObjectName("residentName")
        self.name.setWordWrap(True)  # a long name or the details wrap on a portrait tablet
        self.details = QLabel()
        self.details.setObjectName("residentDetails")
        self.details.setWordWrap(True)
        self.allergies = QLabel()
        self.allergies.setObjectName("allergies")
        self.allergies.setWordWrap(True)
        text.addWidget(self.name)
        text.addWidget(self.details)
        self.no_allergies = QLabel()
        self.no_allergies.setObjectName("noAllergies")
        text.addWidget(self.allergies)
        text.addWidget(self.no_allergies)
        row.addLayout(text, 1)

    def show_resident(self, resident: Resident, today: date) -> None:
        self.name.setText(resident.display_name)
        born = resident.date_of_birth
        self.details.setText(
            f"Room {resident.room}   ·   Born {born.strftime('%d %b %Y')} "
            f"(age {age_on(born, today)})   ·   Wristband {resident.wristband_id}"
        )
        self.photo.show_resident(resident)
        if resident.allergies:
            self.allergies.setText(f"{theme.GLYPH_WARNING} {allergy_text(resident)}")
            self.no_allergies.clear()
        else:
            self.allergies.clear()
            self.no_allergies.setText("No known allergies")
        self.allergies.setVisible(bool(resident.allergies))
        self.no_allergies.setVisible(not resident.allergies)
        self.show()

    def clear(self) -> None:
        for widget in (self.name, self.details, self.allergies, self.no_allergies, self.photo):
            widget.clear()
