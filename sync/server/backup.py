"""Online encrypted backups of the server database: make, verify, restore, check, prune.

A backup is two files in the backup folder: ``mar-backup-YYYYMMDDTHHMMSSZ.marbak`` (encrypted,
format in :mod:`.backup_crypto`) and ``….manifest.json`` beside it: created_at, store kind,
server version, schema version, entry counts per facility and chain, the SHA-256 and size of
the encrypted file, the key id, and an HMAC (key derived from the backup key) over all that.

The encrypted payload is a small JSON header (store kind, dumped schema, the server's signing
key — a restored server must sign with the same key or tablets refuse its receipts) followed by
the database: a SQLite file made with the backup API (:mod:`.backup_sqlite`) or a ``pg_dump -Fc``
archive (:mod:`.backup_postgres`). Backups run while the server serves; both are consistent
snapshots.

Plaintext on disk: a SQLite snapshot is staged in a private (0700) temporary folder inside the
server's data directory — which already holds the live database — and deleted as soon as it is
encrypted; a PostgreSQL dump streams straight into the encryptor. Restore and check decrypt into
such a private temporary folder and use the copy only after every chunk authenticated.

Threads: the calling thread (CLI). Raises ``ValidationError``, ``WrongKey``, ``IntegrityError``
(altered/truncated file, manifest mismatch), ``Conflict`` (non-empty target) or
``StorageError``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mar_desktop
from mar_desktop.chain import ChainReport
from mar_desktop.clock import utc_iso
from mar_desktop.errors import Conflict, IntegrityError, StorageError, ValidationError
from mar_desktop.private_files import private_dir
from sync.server import backup_crypto as bc
from sync.server import backup_postgres, backup_sqlite, config, retention
from sync.server.store import Store

SUFFIX = ".marbak"
MANIFEST_SUFFIX = ".manifest.json"
_NAME = re.compile(r"^mar-backup-(\d{8}T\d{6}Z)(?:-(\d+))?\.marbak$")
_INNER_MAX = 64 * 1024


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def sqlite_path(url: str) -> Path:
    path = url.removeprefix("sqlite:")
    return Path(path[2:] if path.startswith("//") else path)


def manifest_path(backup_file: Path) -> Path:
    return backup_file.with_name(backup_file.name.removesuffix(SUFFIX) + MANIFEST_SUFFIX)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as inp:
        while block := inp.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def private_tempdir(parent: Path | None) -> Iterator[Path]:
    """A 0700 temporary folder (inside ``parent`` if given), removed with its contents."""
    if parent is not None and not parent.exists():
        private_dir(parent)
    folder = Path(tempfile.mkdtemp(prefix=".mar-backup-", dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _sqlite_facts(path: Path) -> tuple[int, dict[str, dict[str, int]]]:
    from sync.server import opsdb
    from sync.server.sqlite_store import SqliteStore

    store = SqliteStore(path, pool_size=1)
    try:
        return opsdb.schema_version(store), opsdb.entry_counts(store)
    finally:
        store.close()


@dataclass(frozen=True)
class Made:
    path: Path
    manifest: dict[str, Any]


def _name_for(out_dir: Path, created: datetime) -> Path:
    stamp = created.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    path, n = out_dir / f"mar-backup-{stamp}{SUFFIX}", 1
    while path.exists() or path.with_name(path.name + ".partial").exists():
        n += 1
        path = out_dir / f"mar-backup-{stamp}-{n}{SUFFIX}"
    return path


def create_backup(
    db_url: str, data_dir: Path, out_dir: Path, key: bytes, *, now: datetime | None = None
) -> Made:
    """Makes one encrypted backup of the live database in ``out_dir`` (see module doc)."""
    created = now or datetime.now(UTC)
    signer = config.load_server_key(data_dir)
    private_dir(out_dir)
    final = _name_for(out_dir, created)
    partial = final.with_name(final.name + ".partial")
    kind = "postgres" if is_postgres(db_url) else "sqlite"
    schema = backup_postgres.Target.parse(db_url).schema if kind == "postgres" else None
    inner = json.dumps(
        {"store": kind, "schema": schema, "server_key": signer.private_bytes().hex()}
    ).encode()
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            writer = bc.EncryptingWriter(out, key)
            writer.write(len(inner).to_bytes(4, "big") + inner)
            if kind == "postgres":
                facts = backup_postgres.dump(db_url, writer.write)
                schema_version, counts = facts.schema_version, facts.entry_counts
            else:
                with private_tempdir(data_dir) as tmp:
                    copy = tmp / "snapshot.sqlite3"
                    backup_sqlite.snapshot(sqlite_path(db_url), copy)
                    schema_version, counts = _sqlite_facts(copy)
                    with copy.open("rb") as inp:
                        while block := inp.read(1 << 20):
                            writer.write(block)
            writer.finish()
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, final)
        _fsync_dir(out_dir)
    except OSError as exc:
        raise StorageError(f"cannot write the backup in {out_dir} ({exc.strerror})") from exc
    finally:
        partial.unlink(missing_ok=True)
    fields: dict[str, Any] = {
        "format": 1,
        "file": final.name,
        "created_at": utc_iso(created),
        "store": kind,
        "schema": schema,
        "server_version": mar_desktop.__version__,
        "schema_version": schema_version,
        "entry_counts": counts,
        "sha256": _sha256(final),
        "size": final.stat().st_size,
        "key_id": bc.key_id(key),
    }
    manifest = {**fields, "mac": bc.manifest_mac(key, fields)}
    target = manifest_path(final)
    staged = target.with_name(target.name + ".partial")
    staged.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.chmod(staged, 0o600)
    os.replace(staged, target)
    return Made(final, manifest)


def verify_file(backup_file: Path, key: bytes) -> dict[str, Any]:
    """Checks key id, manifest MAC and file checksum (not yet the chunks); returns the
    manifest. Raises ``WrongKey`` or ``IntegrityError``."""
    if not backup_file.is_file():
        raise ValidationError(f"no backup file at {backup_file}")
    with backup_file.open("rb") as inp:
        header, _ = bc.read_header(inp)
    bc.check_key(header, key)
    try:
        manifest = json.loads(manifest_path(backup_file).read_text())
        fields = {k: v for k, v in manifest.items() if k != "mac"}
        mac = str(manifest["mac"])
    except FileNotFoundError:
        raise IntegrityError(f"no manifest next to {backup_file.name}") from None
    except (ValueError, KeyError, TypeError):
        raise IntegrityError(f"the manifest of {backup_file.name} is damaged") from None
    if not hmac.compare_digest(mac, bc.manifest_mac(key, fields)):
        raise IntegrityError(f"the manifest of {backup_file.name} was altered")
    if fields.get("sha256") != _sha256(backup_file):
        raise IntegrityError(
            f"checksum mismatch: {backup_file.name} changed since it was made (SHA-256 differs "
            "from its manifest)"
        )
    return dict(manifest)


class _Splitter:
    """Receives decrypted bytes: the inner JSON header first, then the database payload."""

    def __init__(self, payload: Path) -> None:
        self._head = bytearray()
        self.inner: dict[str, Any] | None = None
        self._fd = os.open(payload, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._out = os.fdopen(self._fd, "wb")

    def write(self, data: bytes, /) -> object:
        if self.inner is not None:
            return self._out.write(data)
        self._head += data
        if len(self._head) < 4:
            return None
        size = int.from_bytes(self._head[:4], "big")
        if size > _INNER_MAX:
            raise IntegrityError("the backup payload header is damaged")
        if len(self._head) < 4 + size:
            return None
        self.inner = json.loads(bytes(self._head[4 : 4 + size]))
        rest = bytes(self._head[4 + size :])
        self._head.clear()
        return self._out.write(rest)

    def close(self) -> None:
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()


def decrypt_to(backup_file: Path, key: bytes, folder: Path) -> tuple[dict[str, Any], Path]:
    """Decrypts the whole backup into ``folder``; returns (inner header, database file)."""
    payload = folder / "payload"
    splitter = _Splitter(payload)
    try:
        with backup_file.open("rb") as inp:
            bc.decrypt_stream(inp, key, splitter)
    finally:
        splitter.close()
    if splitter.inner is None or splitter.inner.get("store") not in {"sqlite", "postgres"}:
        raise IntegrityError("the backup payload is damaged")
    return splitter.inner, payload


def list_backups(folder: Path) -> list[tuple[datetime, Path]]:
    """Backups in ``folder`` by time (from their file names, UTC), oldest first."""
    found: list[tuple[datetime, Path]] = []
    for path in folder.glob(f"mar-backup-*{SUFFIX}"):
        match = _NAME.match(path.name)
        if match:
            at = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            found.append((at, path))
    return sorted(found, key=lambda item: (item[0], int(_NAME.match(item[1].name).group(2) or 1)))  # type: ignore[union-attr]


def prune(
    folder: Path,
    *,
    now: datetime | None = None,
    policy: retention.Policy = retention.DEFAULT_POLICY,
    dry_run: bool = False,
) -> tuple[list[Path], list[Path]]:
    """Applies the retention policy; returns (kept, deleted — or to delete if ``dry_run``)."""
    items = list_backups(folder)
    keep_times = retention.to_keep([t for t, _ in items], now or datetime.now(UTC), policy)
    kept = [p for t, p in items if t in keep_times]
    gone = [p for t, p in items if t not in keep_times]
    if not dry_run:
        for path in gone:
            path.unlink(missing_ok=True)
            manifest_path(path).unlink(missing_ok=True)
    return kept, gone


@dataclass(frozen=True)
class CheckResult:
    manifest: dict[str, Any]
    report: ChainReport
    counts: dict[str, dict[str, int]]

    @property
    def counts_match(self) -> bool:
        return self.counts == self.manifest.get("entry_counts")

    @property
    def ok(self) -> bool:
        return self.report.ok and self.counts_match


def verify_restored(store: Store) -> tuple[ChainReport, dict[str, dict[str, int]]]:
    from sync.server import opsdb
    from sync.server.verify import verify_store

    return verify_store(store), opsdb.entry_counts(store)


def check(backup_file: Path, key: bytes, *, pg_admin_dsn: str | None = None) -> CheckResult:
    """Restores the backup into a scratch database (a temporary SQLite file, or a scratch
    PostgreSQL database created on ``pg_admin_dsn``'s server and dropped) and verifies it."""
    manifest = verify_file(backup_file, key)
    with private_tempdir(None) as tmp:
        inner, payload = decrypt_to(backup_file, key, tmp)
        if inner["store"] == "sqlite":
            from sync.server.sqlite_store import SqliteStore

            scratch_file = tmp / "scratch.sqlite3"
            backup_sqlite.install(payload, scratch_file)
            store: Store = SqliteStore(scratch_file, pool_size=2)
            try:
                report, counts = verify_restored(store)
            finally:
                store.close()
            return CheckResult(manifest, report, counts)
        if not pg_admin_dsn:
            raise ValidationError(
                "checking a PostgreSQL backup needs a PostgreSQL server: set MAR_SERVER_DB to "
                "it or give --scratch-dsn"
            )
        from sync.server.postgres_store import PostgresStore

        schema = inner.get("schema")
        with backup_postgres.scratch_database(pg_admin_dsn, schema) as dsn:
            backup_postgres.restore(payload, dsn, schema)
            store = PostgresStore(dsn, pool_size=2)
            try:
                report, counts = verify_restored(store)
            finally:
                store.close()
        return CheckResult(manifest, report, counts)


def _place_server_key(data_dir: Path, private_hex: str, force: bool) -> str | None:
    """Makes the data directory hold the backup's server key; returns a note, or raises
    ``Conflict`` if another key is there and ``force`` is not given."""
    path = data_dir / config.KEY_FILE
    if path.exists():
        if config.load_server_key(data_dir).private_bytes().hex() == private_hex:
            return None
        if not force:
            raise Conflict(
                f"{data_dir} holds a different server key than the backup; tablets would refuse "
                "the restored server. Use --force to replace it (the old key is kept aside)"
            )
        aside = path.with_name(f"{path.name}.replaced-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
        os.replace(path, aside)
        note = f"previous server key moved to {aside.name}"
    else:
        note = None
    private_dir(data_dir)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(private_hex + "\n")
        out.flush()
        os.fsync(out.fileno())
    return note


@dataclass(frozen=True)
class Restored:
    manifest: dict[str, Any]
    safety_backup: Path | None
    notes: list[str]


def restore(
    backup_file: Path,
    db_url: str,
    data_dir: Path,
    key: bytes,
    *,
    force: bool = False,
    safety_dir: Path | None = None,
) -> Restored:
    """Restores into the server database ``db_url`` (stop the server first). Refuses a target
    holding data unless ``force``; then writes a safety backup of it first."""
    manifest = verify_file(backup_file, key)
    target_kind = "postgres" if is_postgres(db_url) else "sqlite"
    if manifest["store"] != target_kind:
        raise ValidationError(
            f"this is a {manifest['store']} backup; the target database is {target_kind} "
            "(restore into the same kind of store)"
        )
    with private_tempdir(data_dir) as tmp:
        inner, payload = decrypt_to(backup_file, key, tmp)
        schema = inner.get("schema")
        if target_kind == "postgres":
            full = backup_postgres.has_data(db_url, schema)
        else:
            full = backup_sqlite.has_data(sqlite_path(db_url))
        if full and not force:
            raise Conflict(
                "the target database is not empty; nothing was changed. Use --force to replace "
                "it (a safety backup of it is written first)"
            )
        safety = None
        if full:
            safety = create_backup(
                db_url, data_dir, safety_dir or data_dir / "safety-backups", key
            ).path
        notes = [n for n in [_place_server_key(data_dir, inner["server_key"], force)] if n]
        if target_kind == "postgres":
            if full:
                backup_postgres.clear(db_url, schema)
            backup_postgres.restore(payload, db_url, schema)
        else:
            backup_sqlite.install(payload, sqlite_path(db_url))
    return Restored(manifest, safety, notes)
