"""Flowable builders shared by the shift sheet and the monthly MAR: the resident banner, the
code legend and the signature legend."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from reportlab.lib import colors
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from mar_desktop.model import ReasonCode, Resident, User
from mar_desktop.reports.codes import Signatory, code_legend, signature_legend
from mar_desktop.reports.pdfkit import BOLD, FONT, GRID, RED, SHADE, esc
from mar_desktop.reports.text import allergies_text, resident_banner

SIGNATURE_STATEMENT = (
    "Each set of initials on this report stands for the electronic signature of the person "
    "named below, applied when they signed in on the device with their own credentials; the "
    "date and time printed beside it are when the act was done, and the meaning is given here."
)


def scaled(widths: Sequence[float], total: float) -> list[float]:
    """Column fractions → points, the last column taking what is left."""
    out = [w * total for w in widths[:-1]]
    out.append(total - sum(out))
    return out


def banner_table(resident: Resident, on: date, width: float, st: Mapping[str, Any]) -> Table:
    allergy_style = st["allergy"] if resident.allergies else st["bold"]
    table = Table(
        [
            [
                Paragraph(esc(resident_banner(resident, on)), st["banner"]),
                Paragraph(esc(allergies_text(resident)), allergy_style),
            ]
        ],
        colWidths=scaled((0.45, 0.55), width),
    )
    style = [
        ("BACKGROUND", (0, 0), (-1, -1), SHADE),
        ("BOX", (0, 0), (-1, -1), 0.8, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if resident.allergies:
        style.append(("BOX", (1, 0), (1, 0), 1.2, RED))
    table.setStyle(TableStyle(style))
    return table


def legend_flowables(
    reason_codes: Iterable[ReasonCode],
    users: Mapping[str, User],
    initials: Mapping[str, str],
    meanings: Mapping[str, set[str]],
    width: float,
    st: Mapping[str, Any],
) -> list[Flowable]:
    """Codes legend (three code/meaning pairs per row) and the signature legend."""
    codes = code_legend(reason_codes)
    rows: list[list[Any]] = []
    per_row = 2
    for start in range(0, len(codes), per_row):
        row: list[Any] = []
        for code in codes[start : start + per_row]:
            row += [code.code, Paragraph(esc(code.meaning), st["small"])]
        row += ["", ""] * (per_row - len(row) // 2)
        rows.append(row)
    code_table = Table(rows, colWidths=scaled((0.05, 0.45, 0.05, 0.45), width))
    code_table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 7),
                ("FONT", (0, 0), (0, -1), BOLD, 7.5),
                ("FONT", (2, 0), (2, -1), BOLD, 7.5),
                ("GRID", (0, 0), (-1, -1), 0.3, GRID),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    signers: list[Signatory] = signature_legend(users, initials, meanings)
    sig_rows: list[list[Any]] = [
        ["Initials", "Printed name", "Credentials", "Role", "Meaning of signature"]
    ]
    for signer in signers:
        sig_rows.append(
            [
                signer.initials,
                Paragraph(esc(signer.full_name), st["cell"]),
                signer.credentials,
                signer.role,
                Paragraph(esc("; ".join(signer.meanings)), st["cell"]),
            ]
        )
    if not signers:
        sig_rows.append(["", "No signatures in this report", "", "", ""])
    sig_table = Table(
        sig_rows, colWidths=scaled((0.07, 0.25, 0.1, 0.12, 0.46), width), repeatRows=1
    )
    sig_table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 7.5),
                ("FONT", (0, 0), (-1, 0), BOLD, 7.5),
                ("FONT", (0, 1), (0, -1), BOLD, 8),
                ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                ("GRID", (0, 0), (-1, -1), 0.3, GRID),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return [
        Spacer(1, 8),
        KeepTogether([Paragraph("Codes", st["h2"]), code_table]),
        Spacer(1, 8),
        KeepTogether(
            [
                Paragraph("Signature legend", st["h2"]),
                Paragraph(esc(SIGNATURE_STATEMENT), st["small"]),
                Spacer(1, 3),
                sig_table,
            ]
        ),
    ]
