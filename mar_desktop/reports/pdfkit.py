"""Shared PDF machinery: fonts, styles, page frame with repeated header, "page x of y", and
the layout record that proves a resident's block stayed on one page.

Contract: pure (reportlab only), safe on any worker thread; each render builds its own document
and canvas. Fonts: a Unicode TrueType font (DejaVu Sans, Arial or Segoe UI where installed,
else reportlab's bundled Vera) is registered once per process under the names ``MarSans`` and
``MarSans-Bold``; registration is idempotent and guarded by a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph

from mar_desktop.errors import ValidationError
from mar_desktop.model import Facility, User
from mar_desktop.private_files import private_file
from mar_desktop.reports.data import Progress, ReportInfo

FONT = "MarSans"
BOLD = "MarSans-Bold"
MARGIN = 30.0
HEADER_H = 58.0  # page header incl. the "continued" banner line
FOOTER_H = 26.0
RED = colors.HexColor("#B00020")
GREY = colors.HexColor("#666666")
SHADE = colors.HexColor("#E8EEF4")
LIGHT = colors.HexColor("#F4F4F4")
GRID = colors.HexColor("#9AA5B1")

_FONT_CANDIDATES: tuple[tuple[str, str], ...] = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
    ("C:/Windows/Fonts/segoeui.ttf", "C:/Windows/Fonts/segoeuib.ttf"),
    ("C:/Windows/Fonts/arial.ttf", "C:/Windows/Fonts/arialbd.ttf"),
    ("/Library/Fonts/Arial Unicode.ttf", "/Library/Fonts/Arial Unicode.ttf"),
    (
        "/System/Library/Fonts/Supplemental/Arial.ttf",
        "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
    ),
)
_font_lock = threading.Lock()
_fonts_state = {"ready": False}


def ensure_fonts() -> None:
    """Registers ``MarSans``/``MarSans-Bold`` once (see module docstring)."""
    with _font_lock:
        if _fonts_state["ready"]:
            return
        regular, bold = "Vera.ttf", "VeraBd.ttf"  # shipped with reportlab
        for candidate, candidate_bold in _FONT_CANDIDATES:
            if Path(candidate).is_file() and Path(candidate_bold).is_file():
                regular, bold = candidate, candidate_bold
                break
        pdfmetrics.registerFont(TTFont(FONT, regular))
        pdfmetrics.registerFont(TTFont(BOLD, bold))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)
        _fonts_state["ready"] = True


def styles() -> dict[str, ParagraphStyle]:
    ensure_fonts()
    base = ParagraphStyle("cell", fontName=FONT, fontSize=7.2, leading=8.6)
    return {
        "cell": base,
        "small": ParagraphStyle("small", parent=base, fontSize=6.4, leading=7.6),
        "bold": ParagraphStyle("bold", parent=base, fontName=BOLD),
        "banner": ParagraphStyle("banner", parent=base, fontName=BOLD, fontSize=9.5, leading=11.5),
        "allergy": ParagraphStyle(
            "allergy", parent=base, fontName=BOLD, fontSize=8.6, leading=10.2, textColor=RED
        ),
        "h2": ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=11, leading=14),
        "grey": ParagraphStyle("grey", parent=base, textColor=GREY),
    }


PLAIN = "Helvetica"  # built-in fonts: several times cheaper per string than a TrueType font
PLAIN_BOLD = "Helvetica-Bold"


def plain_ok(text: str) -> bool:
    """Whether ``text`` can be drawn in the built-in (cp1252) fonts."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def esc(text: str) -> str:
    """Escapes text for a reportlab Paragraph (names and notes are user data)."""
    return escape(text)


def pagesize_for(name: str) -> tuple[float, float]:
    """``"letter"`` or ``"a4"``, landscape. Raises :class:`ValidationError` otherwise."""
    sizes = {"letter": LETTER, "a4": A4}
    try:
        return landscape(sizes[name.lower()])  # type: ignore[no-any-return]
    except KeyError:
        raise ValidationError("Page size must be letter or a4.") from None


def local_text(moment: datetime, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(zone).strftime(fmt)


class NumberedCanvas(Canvas):  # type: ignore[misc]
    """Defers page output until the end so each page can say "Page x of y"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._saved: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._saved.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._saved)
        for state in self._saved:
            self.__dict__.update(state)
            width = self._pagesize[0]
            self.setFont(FONT, 7.5)
            self.setFillColor(colors.black)
            self.drawRightString(width - MARGIN, MARGIN - 14, f"Page {self._pageNumber} of {total}")
            super().showPage()
        super().save()


class Marker(Flowable):  # type: ignore[misc]
    """A zero-size flowable that records, when drawn, the page a resident's block starts/ends."""

    def __init__(self, doc: MarDoc, resident_id: str, banner: str, start: bool) -> None:
        super().__init__()
        self.doc = doc
        self.resident_id = resident_id
        self.banner = banner
        self.start = start
        self.width = self.height = 0

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.doc.mark(self.resident_id, self.banner, self.start)


HeaderPainter = Callable[[Canvas, float, float], None]


class MarDoc(BaseDocTemplate):  # type: ignore[misc]
    """A landscape document with a repeated header/footer and a per-resident layout record."""

    def __init__(
        self,
        out: Path | BinaryIO,
        *,
        pagesize: str,
        title: str,
        header: HeaderPainter,
        footer_text: str,
        progress: Progress,
        blocks: int,
    ) -> None:
        size = pagesize_for(pagesize)
        target = str(private_file(out)) if isinstance(out, Path) else out
        super().__init__(
            target,
            pagesize=size,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN + HEADER_H,
            bottomMargin=MARGIN + FOOTER_H,
            title=title,
            author="MAR Desktop",
            subject="Medication Administration Record - confidential (PHI)",
            creator="MAR Desktop",
            invariant=1,
        )
        self._header = header
        self._footer_text = footer_text
        self._progress = progress
        self._blocks = max(1, blocks)
        self._done = 0
        self.layout: dict[str, tuple[int, int]] = {}
        self.current: tuple[str, str] | None = None
        frame = Frame(
            MARGIN,
            MARGIN + FOOTER_H,
            size[0] - 2 * MARGIN,
            size[1] - 2 * MARGIN - HEADER_H - FOOTER_H,
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
            id="body",
        )
        self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=self._on_page)])

    @property
    def body_width(self) -> float:
        return float(self.pagesize[0] - 2 * MARGIN)

    @property
    def body_height(self) -> float:
        return float(self.pagesize[1] - 2 * MARGIN - HEADER_H - FOOTER_H)

    def mark(self, resident_id: str, banner: str, start: bool) -> None:
        page = int(self.page)
        if start:
            self.layout[resident_id] = (page, page)
            self.current = (resident_id, banner)
        else:
            first = self.layout.get(resident_id, (page, page))[0]
            self.layout[resident_id] = (first, page)
            self.current = None
            self._done += 1
            self._progress(min(0.99, self._done / self._blocks), "Laying out pages")

    def _on_page(self, canv: Canvas, doc: BaseDocTemplate) -> None:
        width, height = self.pagesize
        canv.saveState()
        self._header(canv, width, height)
        if self.current is not None:  # a block taller than a page continues here
            canv.setFont(BOLD, 8.5)
            canv.setFillColor(RED)
            canv.drawString(
                MARGIN, height - MARGIN - HEADER_H + 4, f"(continued) {self.current[1]}"
            )
        canv.setFillColor(GREY)
        canv.setFont(FONT, 6.5)
        canv.drawString(MARGIN, MARGIN - 14, self._footer_text)
        canv.setStrokeColor(GRID)
        canv.line(MARGIN, MARGIN + FOOTER_H - 6, width - MARGIN, MARGIN + FOOTER_H - 6)
        canv.restoreState()

    def render(self, story: Sequence[Flowable]) -> ReportInfo:
        self.build(list(story), canvasmaker=NumberedCanvas)
        spans = {rid: span for rid, span in self.layout.items() if span[1] > span[0]}
        self._progress(1.0, "Done")
        return ReportInfo(pages=int(self.page), layout=dict(self.layout), oversized=tuple(spans))


def printed_by_text(who: User, printed_at: datetime, facility: Facility) -> str:
    """The right-hand block of every report header: who printed it (name and credentials),
    when in the facility's time, and the PHI warning."""
    credentials = f", {who.credentials}" if who.credentials else ""
    return (
        f"Printed by {who.full_name}{credentials}\n"
        f"{local_text(printed_at, facility.zone)} ({facility.timezone})\n"
        "CONFIDENTIAL - protected health information"
    )


def header_lines(
    canv: Canvas, width: float, height: float, title: str, lines: Sequence[str], right: str
) -> None:
    """The standard header: bold title, up to two detail lines, right-aligned print stamp."""
    top = height - MARGIN
    canv.setFillColor(colors.black)
    canv.setFont(BOLD, 12)
    canv.drawString(MARGIN, top - 10, title)
    canv.setFont(FONT, 8)
    for index, line in enumerate(lines[:2]):
        canv.drawString(MARGIN, top - 22 - 10 * index, line)
    canv.setFont(FONT, 7.5)
    for index, part in enumerate(right.split("\n")):
        canv.drawRightString(width - MARGIN, top - 10 - 10 * index, part)
    canv.setStrokeColor(colors.black)
    canv.setLineWidth(0.8)
    canv.line(MARGIN, top - HEADER_H + 16, width - MARGIN, top - HEADER_H + 16)


def para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(text, style)


Run = tuple[str, str, float, Any]  # text, font name, size, colour


class TextCell(Flowable):  # type: ignore[misc]
    """Pre-wrapped plain text for table cells: several runs, each starting on a new line, each
    with its own font, size and colour; optionally struck through (voided entries).

    Much cheaper than a Paragraph (no markup parsing, wrapped once at construction), which is
    what keeps a 60-resident shift sheet within its time budget."""

    def __init__(self, runs: Sequence[Run], width: float, *, strike: bool = False) -> None:
        super().__init__()
        ensure_fonts()
        self.lines: list[tuple[str, str, float, Any]] = []
        for text, font, size, colour in runs:
            for part in text.split("\n"):
                if pdfmetrics.stringWidth(part, font, size) <= width:  # the common case
                    self.lines.append((part, font, size, colour))
                    continue
                for line in simpleSplit(part, font, size, width) or [""]:
                    self.lines.append((line, font, size, colour))
        self.strike = strike
        self.width = width
        self.height = sum(size * 1.2 for _, _, size, _ in self.lines)

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canv = self.canv
        y = self.height
        for text, font, size, colour in self.lines:
            y -= size * 1.2
            canv.setFont(font, size)
            canv.setFillColor(colour)
            canv.drawString(0, y + size * 0.25, text)
            if self.strike and text:
                canv.setStrokeColor(colour)
                canv.setLineWidth(0.6)
                mid = y + size * 0.25 + size * 0.32
                canv.line(0, mid, pdfmetrics.stringWidth(text, font, size), mid)


def text_cell(
    text: str,
    width: float,
    *,
    size: float = 7.2,
    bold: bool = False,
    colour: Any = None,
    strike: bool = False,
) -> TextCell:
    """One-run :class:`TextCell` (``width`` is the text width, padding already taken off)."""
    return TextCell(
        [(text, BOLD if bold else FONT, size, colour or colors.black)], width, strike=strike
    )
