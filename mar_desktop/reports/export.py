"""The surveyor export: a directory a surveyor (or a customer leaving) can take away and check.

Layout of the directory::

    entries.csv    one row per ledger entry of the window (columns: csv_export.CSV_COLUMNS)
    entries.pdf    the same entries, chronological, readable
    manifest.json  canonical JSON: format, facility, window, exported by/at, device id, the
                   device's Ed25519 public key, the ledger verification summary, the number of
                   entries, and each file's SHA-256 and size; ``signature`` is the device's
                   Ed25519 signature over the canonical bytes of every other field.

:func:`check_export` re-checks all of it: no file missing or extra, every hash and size, the
manifest in canonical form (so no byte of it can change unseen) and its signature. The public
key travels in the manifest, so the check proves integrity since export; pass the device keys
you trust (e.g. from the facility server) as ``trusted_keys`` to prove origin too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mar_desktop.canonical import canonical_bytes, loads
from mar_desktop.clock import utc_iso
from mar_desktop.errors import ValidationError
from mar_desktop.private_files import private_dir, write_private
from mar_desktop.reports.chronological import render_chronological
from mar_desktop.reports.csv_export import write_entries_csv
from mar_desktop.reports.data import Progress, no_progress
from mar_desktop.reports.gather import ExportData
from mar_desktop.signing import DeviceSigner, load_public_key, signature_valid

FORMAT = "mar-desktop-surveyor-export/1"
CSV_NAME = "entries.csv"
PDF_NAME = "entries.pdf"
MANIFEST_NAME = "manifest.json"
DATA_FILES = (CSV_NAME, PDF_NAME)


def file_facts(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return {"bytes": size, "sha256": digest.hexdigest()}


def write_surveyor_export(
    data: ExportData,
    out_dir: Path,
    *,
    signer: DeviceSigner,
    device_id: str,
    verification: str,
    pagesize: str = "letter",
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Writes the export into ``out_dir`` (created; must be absent or empty) and returns the
    manifest. ``verification`` is the ledger verification summary (e.g.
    ``ChainReport.summary()``). Worker thread. Raises ValidationError if ``out_dir`` is in use."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ValidationError("The export folder must be new or empty.")
    private_dir(out_dir)
    progress(0.0, "Writing entries.csv")
    count = write_entries_csv(data, out_dir / CSV_NAME)

    def pdf_progress(fraction: float, text: str) -> None:
        progress(0.1 + 0.85 * fraction, text)

    render_chronological(data, out_dir / PDF_NAME, pagesize=pagesize, progress=pdf_progress)
    who = data.exported_by
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "facility": {"facility_id": data.facility.facility_id, "name": data.facility.name},
        "window": {"from": utc_iso(data.since), "to": utc_iso(data.until)},
        "exported_at": utc_iso(data.exported_at),
        "exported_by": {"user_id": who.user_id, "name": who.full_name, "role": who.role.value},
        "device_id": device_id,
        "public_key": signer.public_hex,
        "ledger_verification": verification,
        "entries": count,
        "files": {name: file_facts(out_dir / name) for name in DATA_FILES},
    }
    manifest["signature"] = signer.sign(canonical_bytes(manifest)).hex()
    write_private(out_dir / MANIFEST_NAME, canonical_bytes(manifest) + b"\n")
    progress(1.0, "Export written")
    return manifest


@dataclass(frozen=True)
class ExportCheck:
    """Result of :func:`check_export`. ``problems`` are plain sentences, no PHI."""

    problems: tuple[str, ...]
    manifest: dict[str, Any] = field(default_factory=dict)
    trusted_origin: bool | None = None  # None: no trusted keys were given

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            origin = (
                " Signed by a trusted device key of the facility."
                if self.trusted_origin
                else " The signature was NOT checked against the facility: anyone can sign an "
                "export with a key of their own. Give the facility's device keys "
                "(--facility-keys FILE or --trusted-key HEX)."
            )
            if "rows" in self.manifest:
                what = f"access report intact, {self.manifest.get('rows', 0)} rows"
            else:
                what = f"export intact, {self.manifest.get('entries', 0)} entries"
            return f"OK: {what}.{origin}"
        return "FAILED: " + " ".join(self.problems)


def load_facility_keys(path: Path) -> list[str]:
    """The device public keys (hex) in a facility key file: JSON ``{"devices": [{"public_key":
    "<hex>", ...}, ...]}`` as ``mar-desktop facility-keys`` writes it. Raises ValidationError
    naming what is wrong (unreadable, not JSON, no keys, a malformed key)."""
    try:
        data = loads(path.read_bytes())
    except OSError as exc:
        raise ValidationError(f"Cannot read {path}: {exc.strerror}.") from None
    except ValueError:
        raise ValidationError(f"{path} is not a facility key file (not JSON).") from None
    devices = data.get("devices") if isinstance(data, dict) else None
    if not isinstance(devices, list) or not devices:
        raise ValidationError(f"{path} lists no device keys.")
    keys = []
    for device in devices:
        key = device.get("public_key") if isinstance(device, dict) else None
        try:
            load_public_key(str(key))
        except ValueError:
            raise ValidationError(f"{path} holds a malformed device key.") from None
        keys.append(str(key))
    return keys


def _load_manifest(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        raw = path.read_bytes()
        manifest = loads(raw)
    except OSError:
        return None, ["manifest.json is missing or unreadable."]
    except ValueError:
        return None, ["manifest.json is not valid JSON."]
    if not isinstance(manifest, dict):
        return None, ["manifest.json is not a manifest."]
    problems = []
    if raw != canonical_bytes(manifest) + b"\n":
        problems.append("manifest.json was edited (not in its signed canonical form).")
    return manifest, problems


ACCESS_FORMAT = "mar-desktop-access-report/1"
ACCESS_FILES = ("access-report.csv", "access-report.pdf")
"""The access report (:mod:`mar_desktop.reports.access_export`): ONE of these files."""


def _expected_files(manifest: dict[str, Any]) -> tuple[str, ...] | None:
    """The data files a manifest of its format must list (None: not a format checked here).
    An access report holds exactly one of :data:`ACCESS_FILES`, the one its manifest names."""
    fmt = manifest.get("format")
    if fmt == FORMAT:
        return DATA_FILES
    if fmt == ACCESS_FORMAT:
        files = manifest.get("files")
        names = tuple(files) if isinstance(files, dict) else ()
        return names if len(names) == 1 and names[0] in ACCESS_FILES else ACCESS_FILES[:1]
    return None


def check_export(out_dir: Path, *, trusted_keys: Collection[str] | None = None) -> ExportCheck:
    """Checks an export directory; see the module docstring. Never raises for a bad export:
    every finding is in ``problems``."""
    if not out_dir.is_dir():
        return ExportCheck(("The export folder does not exist.",))
    manifest, problems = _load_manifest(out_dir / MANIFEST_NAME)
    if manifest is None:
        return ExportCheck(tuple(problems))
    expected = _expected_files(manifest)
    if expected is None:
        problems.append("manifest.json is not a MAR Desktop surveyor export manifest.")
        expected = DATA_FILES
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    key_hex = manifest.get("public_key")
    try:
        key = load_public_key(str(key_hex))
        signature = bytes.fromhex(str(manifest.get("signature", "")))
        if not signature_valid(key, signature, canonical_bytes(unsigned)):
            problems.append("The manifest signature does not verify.")
    except (ValueError, TypeError):
        problems.append("The manifest's key or signature is malformed.")
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != set(expected):
        problems.append("The manifest does not list the expected files.")
        files = {}
    present = {p.name for p in out_dir.iterdir()}
    for name in sorted(present - {*expected, MANIFEST_NAME}):
        problems.append(f"Unexpected file in the export: {name}.")
    for name in expected:
        path = out_dir / name
        if not path.is_file():
            problems.append(f"{name} is missing.")
            continue
        if files.get(name) != file_facts(path):
            problems.append(f"{name} was changed after export (SHA-256 or size differs).")
    trusted = None if trusted_keys is None else key_hex in set(trusted_keys)
    if trusted is False:
        problems.append("The export was signed by a key that is not among the trusted keys.")
    return ExportCheck(tuple(problems), manifest, trusted)
