"""The work area's sidebar: the brand, who is signed in, one checkable nav button per screen
(:attr:`Sidebar.nav`, by key; one checked at a time), and "Lock screen" / "Sign out" at the
bottom. The alerts button carries the number of open alerts.

Below :data:`ui.theme.NARROW_WIDTH` (a portrait tablet, 800-1080 px wide) it is compact, so the
screens keep their columns readable: smaller type (``compact="yes"`` in the stylesheet), just
wide enough for its longest button, and a shorter alerts badge.

GUI thread only. No worker calls; shows the signed-in user's own name, no resident data.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QVBoxLayout, QWidget

from ui import theme
from ui.widgets.common import button, label

SIDEBAR_WIDE = 220
SIDEBAR_WIDEST = 280  # a wide window's sidebar grows to this for a long badge, no further
SIDEBAR_NARROW = 150  # at least; wide enough for the longest nav button in the compact style
SIDEBAR_MARGIN = 12


class Sidebar(QFrame):
    """Filled in steps by the work area's build (:mod:`ui.work_area`): :meth:`add_top`, then
    :meth:`add_nav` per registered section, then :meth:`add_bottom`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.nav: dict[str, QPushButton] = {}
        self._open_alerts = 0
        self._narrow = False  # compact (a portrait tablet): as wide as the widest button
        self._user_label: QLabel | None = None
        self._column = QVBoxLayout(self)

    def add_top(self, residents: Callable[[], None], med_pass: Callable[[], None],
                alerts: Callable[[], None]) -> None:
        """The brand, the (empty) user line and the Residents, Med pass and Alerts buttons,
        which call ``residents``, ``med_pass`` and ``alerts`` when tapped."""
        side = self._column
        side.setContentsMargins(SIDEBAR_MARGIN, 16, SIDEBAR_MARGIN, 12)
        side.setSpacing(6)
        brand = label("MAR Desktop", wrap=True)
        brand.setObjectName("brand")
        side.addWidget(brand)
        self._user_label = QLabel("")
        self._user_label.setObjectName("userLabel")
        self._user_label.setWordWrap(True)
        side.addWidget(self._user_label)
        side.addSpacing(12)
        self.add_nav("residents", "☰  Residents", residents)
        self.add_nav("pass", "◷  Med pass", med_pass)
        self.add_nav("alerts", "⚠  Alerts", alerts)

    def add_nav(self, key: str, text: str, action: Callable[[], None]) -> None:
        """Adds the nav button ``nav[key]`` (object name ``nav_<key>``) below the others."""
        nav = button(text, "nav", action, name=f"nav_{key}", checkable=True)
        nav.setAutoExclusive(True)
        self.nav[key] = nav
        self._column.addWidget(nav)
        self._fit_width()

    def add_bottom(self, lock: Callable[[], None], sign_out: Callable[[], None]) -> None:
        """The "Lock screen" and "Sign out" buttons, at the bottom."""
        side = self._column
        side.addStretch(1)
        side.addWidget(button("⊝  Lock screen", "nav", lock, name="lockNow"))
        side.addWidget(button("⇥  Sign out", "nav", sign_out, name="signOut"))
        self._fit_width()

    def show_user(self, name: str, detail: str) -> None:
        """The signed-in user's name, with ``detail`` (credentials or role) below it."""
        if self._user_label is not None:
            self._user_label.setText(f"{name}\n{detail}")

    def show_alert_count(self, count: int, window_width: int) -> None:
        """The alerts badge: "(3 open)", or "(3)" when the window is narrower than
        :data:`ui.theme.NARROW_WIDTH`; none for 0."""
        self._open_alerts = count
        narrow = window_width < theme.NARROW_WIDTH
        badge = f" ({count})" if narrow else f" ({count} open)"
        self.nav["alerts"].setText("⚠  Alerts" + (badge if count else ""))
        self._fit_width()  # "(13)" is wider than "(3)"

    def fit(self, window_width: int) -> None:
        """Compact below :data:`ui.theme.NARROW_WIDTH` of window width, full from there up;
        restyles itself only when that changes."""
        narrow = window_width < theme.NARROW_WIDTH
        compact = "yes" if narrow else "no"
        if self.property("compact") != compact:
            self.setProperty("compact", compact)
            for widget in (self, *self.findChildren(QWidget)):
                widget.style().unpolish(widget)
                widget.style().polish(widget)
        self._narrow = narrow
        if "alerts" in self.nav:
            self.show_alert_count(self._open_alerts, window_width)
        self._fit_width()

    def _fit_width(self) -> None:
        """The sidebar's width: :data:`SIDEBAR_WIDE` (up to :data:`SIDEBAR_WIDEST` for a long
        alerts badge), or when compact just wide enough for its widest button as it reads now;
        re-fitted whenever a button is added or the alerts badge changes, so none is cut."""
        buttons = self.findChildren(QPushButton)
        needed = max((b.sizeHint().width() for b in buttons), default=0) + 2 * SIDEBAR_MARGIN
        if not self._narrow:  # "Alerts (13 open)" may need a little more than the usual width
            self.setFixedWidth(min(SIDEBAR_WIDEST, max(SIDEBAR_WIDE, needed)))
            return
        self.setFixedWidth(min(SIDEBAR_WIDE, max(SIDEBAR_NARROW, needed)))
