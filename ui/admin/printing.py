"""Long renders off the GUI thread with a progress panel, and printing a rendered PDF.

:class:`ProgressRunner` submits ``work(report)`` to the TaskRunner with ``with_progress=True``
and shows a progress panel fed (coalesced) by the runner's queued progress signal; Cancel asks
the task to stop (the next progress call raises :class:`Cancelled`).

Printing: reportlab writes the PDF into memory on the worker; :func:`rasterise` turns its pages
into ``QImage`` s there too (pypdfium2; ``QImage`` is safe off the GUI thread); the GUI thread
then opens ``QPrintDialog`` and paints the pages onto the chosen printer (:func:`paint_pages`).
The PDF bytes and page images hold PHI and live only in memory until printed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QRectF, QTimer
from PySide6.QtGui import QImage, QPainter
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.errors import MarError
from ui.tasks import TaskHandle, TaskRunner
from ui.widgets.common import button

PRINT_DPI = 200


class Cancelled(MarError):
    """The person cancelled a long task."""


Report = Callable[[float, str], None]


class ProgressRunner(QFrame):
    """Runs long work on the TaskRunner and shows its progress in a panel of the screen (bar,
    words, Cancel). An in-screen panel, not a separate window: showing and hiding a top-level
    dialog costs the GUI thread 40-100 ms, a panel almost nothing. Progress reports are
    coalesced: a 100 ms timer shows the latest fraction and text, never one update per report.
    Hidden while idle. GUI thread."""

    def __init__(self, runner: TaskRunner, parent: QWidget) -> None:
        super().__init__(parent)
        self.setProperty("role", "card")
        self.setObjectName("renderProgress")
        self._runner = runner
        row = QHBoxLayout(self)
        row.setContentsMargins(18, 10, 18, 10)
        column = QVBoxLayout()
        self.title = QLabel("")
        self.title.setProperty("role", "section")
        self.text = QLabel("")
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setMinimumHeight(28)
        self.bar.setFormat("%p %")
        column.addWidget(self.title)
        column.addWidget(self.bar)
        column.addWidget(self.text)
        row.addLayout(column, 1)
        self.cancel_button = button("Cancel", "danger", self.cancel, name="cancelRender")
        row.addWidget(self.cancel_button)
        self._latest: tuple[float, str] | None = None
        self._handle: TaskHandle | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._update)
        self.hide()

    @property
    def busy(self) -> bool:
        return self._handle is not None

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    def _update(self) -> None:
        latest, self._latest = self._latest, None
        if latest is None:
            return
        fraction, text = latest
        self.bar.setValue(int(max(0.0, min(1.0, fraction)) * 100))
        if text and text != self.text.text():
            self.text.setText(text)

    def _stop(self) -> None:
        self._timer.stop()
        self._handle = None
        self._latest = None
        self.hide()

    def start(
        self,
        title: str,
        work: Callable[[Report], Any],
        on_success: Callable[[Any], None],
        on_failure: Callable[[BaseException], None],
    ) -> TaskHandle | None:
        """Runs ``work(report)`` on the worker; None if a task is already running."""
        if self._handle is not None:
            return None

        def task(progress: Report, handle: TaskHandle) -> Any:
            def report(fraction: float, text: str) -> None:
                if handle.cancelled:
                    raise Cancelled("Cancelled. Nothing was saved or printed.")
                progress(fraction, text)

            return work(report)

        def progressed(fraction: float, text: str) -> None:
            self._latest = (fraction, text)

        def finished(result: Any) -> None:
            self._stop()
            on_success(result)

        def failed(error: BaseException) -> None:
            self._stop()
            on_failure(error)

        self._handle = self._runner.submit(task, on_success=finished, on_failure=failed,
                                           on_progress=progressed, with_progress=True)
        self.title.setText(title)
        self.text.setText("Starting…")
        self.bar.setValue(0)
        self.show()
        self._timer.start()
        return self._handle


def rasterise(pdf: bytes, dpi: int = PRINT_DPI, report: Report | None = None) -> list[QImage]:
    """The pages of ``pdf`` as images. Worker thread. Raises MarError if pypdfium2 is absent."""
    try:
        import pypdfium2 as pdfium
    except ImportError:
        raise MarError("Printing needs the pypdfium2 package; save as PDF instead.") from None
    document = pdfium.PdfDocument(pdf)
    try:
        images = []
        count = len(document)
        for index in range(count):
            page = document[index]
            bitmap = page.render(scale=dpi / 72, rev_byteorder=True)
            array = bitmap.buffer
            width, height = bitmap.width, bitmap.height
            fmt = QImage.Format.Format_RGBX8888 if bitmap.n_channels == 4 \
                else QImage.Format.Format_RGB888
            image = QImage(bytes(array), width, height, bitmap.stride, fmt).copy()
            images.append(image)
            page.close()
            if report is not None:
                report(0.8 + 0.2 * (index + 1) / count, f"Preparing page {index + 1} of {count}")
        return images
    finally:
        document.close()


def paint_pages(printer: QPrinter, images: list[QImage]) -> None:
    """Paints each image onto its own page of ``printer``, scaled to fit. GUI thread."""
    painter = QPainter()
    if not painter.begin(printer):
        raise MarError("The printer could not be started.")
    try:
        for index, image in enumerate(images):
            if index:
                printer.newPage()
            area = printer.pageLayout().paintRectPixels(printer.resolution())
            scale = min(area.width() / image.width(), area.height() / image.height())
            width, height = image.width() * scale, image.height() * scale
            painter.drawImage(QRectF(0, 0, width, height), image)
    finally:
        painter.end()
