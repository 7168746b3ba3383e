"""PostgreSQL side of backups, through PostgreSQL's own tools (``pg_dump -Fc``, ``pg_restore``).

Tools: found in ``MAR_PG_BIN`` (a folder) or on ``PATH``. ``pg_dump`` must be at least the
server's major version (it refuses older servers' newer features otherwise); a missing or too
old tool is a ``StorageError`` that says what to install. The DSN's password is handed to the
tools through ``PGPASSWORD``, never on a command line (visible in ``ps``).

Consistency: :func:`dump` opens a REPEATABLE READ transaction, exports its snapshot, counts the
entries in it and runs ``pg_dump --snapshot`` on that same snapshot, so the manifest's counts
describe exactly what the dump holds while the server keeps writing. The dump streams from
``pg_dump``'s stdout to the caller (the encryptor): no plaintext dump touches the disk.

Schemas: a DSN whose ``options`` set ``search_path`` (``-csearch_path=NAME``) is dumped with
``-n NAME`` and restored into a schema of the same name; otherwise the whole database is dumped
(the tables live in ``public``). Raises ``StorageError`` / ``ValidationError``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo

from mar_desktop.errors import StorageError, ValidationError

_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*([A-Za-z_][A-Za-z0-9_]*)")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Target:
    """A DSN split for the tools: conninfo without password, the environment, the schema."""

    conninfo: str
    env: dict[str, str]
    schema: str | None

    @classmethod
    def parse(cls, dsn: str) -> Target:
        try:
            parts = conninfo.conninfo_to_dict(dsn)
        except psycopg.Error:
            raise ValidationError("the PostgreSQL DSN cannot be parsed") from None
        env = dict(os.environ)
        password = parts.pop("password", None)
        if password is not None:
            env["PGPASSWORD"] = str(password)
        found = _SEARCH_PATH.search(str(parts.get("options", "")))
        return cls(conninfo.make_conninfo("", **parts), env, found.group(1) if found else None)

    def with_dbname(self, dbname: str) -> Target:
        parts = conninfo.conninfo_to_dict(self.conninfo)
        parts["dbname"] = dbname
        return Target(conninfo.make_conninfo("", **parts), self.env, self.schema)

    def connect(self) -> psycopg.Connection[Any]:
        try:
            password = self.env.get("PGPASSWORD")
            info = (
                self.conninfo
                if not password
                else conninfo.make_conninfo(self.conninfo, password=password)
            )
            return psycopg.connect(info, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to PostgreSQL ({type(exc).__name__})") from None


def tool(name: str) -> str:
    """Path of a PostgreSQL client tool. Raises ``StorageError`` if it is not installed."""
    folder = os.environ.get("MAR_PG_BIN")
    found = str(Path(folder) / name) if folder else shutil.which(name)
    if not found or not Path(found).is_file():
        raise StorageError(
            f"{name} not found: install the PostgreSQL client tools of the server's major "
            "version (e.g. Debian package postgresql-client-15) or set MAR_PG_BIN"
        )
    return found


def tool_major(path: str) -> int:
    out = subprocess.run(  # noqa: S603 - our own argument list, no shell
        [path, "--version"], capture_output=True, text=True, check=False
    )
    match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    if out.returncode != 0 or match is None:
        raise StorageError(f"cannot tell the version of {Path(path).name}")
    return int(match.group(1))


def _check_versions(path: str, conn: psycopg.Connection[Any]) -> int:
    server_major = conn.info.server_version // 10000
    mine = tool_major(path)
    if mine < server_major:
        raise StorageError(
            f"{Path(path).name} is version {mine} but the server runs PostgreSQL "
            f"{server_major}: install postgresql-client-{server_major} (or set MAR_PG_BIN)"
        )
    return server_major


def _last_line(stderr: bytes) -> str:
    lines = [ln for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no message"


@dataclass(frozen=True)
class DumpFacts:
    server_major: int
    schema_version: int
    entry_counts: dict[str, dict[str, int]]


def dump(dsn: str, sink: Callable[[bytes], None]) -> DumpFacts:
    """Streams a consistent ``pg_dump -Fc`` of the server database into ``sink``."""
    target = Target.parse(dsn)
    pg_dump = tool("pg_dump")
    with target.connect() as conn:
        major = _check_versions(pg_dump, conn)
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = str(conn.execute("SELECT pg_export_snapshot()").fetchone()[0])  # type: ignore[index]
            version_row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
            counts: dict[str, dict[str, int]] = {}
            for fac, chain, n in conn.execute(
                "SELECT facility_id, chain, COUNT(*) FROM entries GROUP BY facility_id, chain"
            ):
                counts.setdefault(str(fac), {})[str(chain)] = int(n)
            args = [pg_dump, "-Fc", "--no-owner", "--no-privileges", f"--snapshot={snapshot}"]
            if target.schema:
                args.append(f"--schema={target.schema}")
            args += ["--dbname", target.conninfo]
            with tempfile.TemporaryFile() as errors:
                proc = subprocess.Popen(  # noqa: S603 - no shell
                    args, stdout=subprocess.PIPE, stderr=errors, env=target.env
                )
                assert proc.stdout is not None
                while block := proc.stdout.read(1 << 20):
                    sink(block)
                code = proc.wait()
                errors.seek(0)
                if code != 0:
                    raise StorageError(f"pg_dump failed: {_last_line(errors.read())}")
    schema_version = int(version_row[0] or 0) if version_row else 0
    return DumpFacts(major, schema_version, counts)


def has_data(dsn: str, schema: str | None) -> bool:
    """True if the target holds a ``facilities`` table with a row (in ``schema`` or public)."""
    target = Target.parse(dsn)
    name = f"{schema or 'public'}.facilities"
    with target.connect() as conn:
        row = conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()
        if row is None or row[0] is None:
            return False
        return (
            conn.execute(f"SELECT 1 FROM {schema or 'public'}.facilities LIMIT 1").fetchone()
            is not None
        )


def clear(dsn: str, schema: str | None) -> None:
    """Drops the server's tables from the target (only for ``restore --force``, after the
    safety backup): the whole schema if it is a named one, else the known tables in public."""
    from sync.server.migrations import APPEND_ONLY_TABLES, SHARED_STATE_TABLES

    target = Target.parse(dsn)
    with target.connect() as conn, conn.transaction():
        if schema:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            return
        for table in (
            *APPEND_ONLY_TABLES,
            *SHARED_STATE_TABLES,
            "enrol_codes",
            "devices",
            "facilities",
            "schema_migrations",
        ):
            conn.execute(f"DROP TABLE IF EXISTS public.{table} CASCADE")
        conn.execute("DROP FUNCTION IF EXISTS public.mar_refuse_change() CASCADE")


def restore(dump_file: Path, dsn: str, schema: str | None) -> None:
    """``pg_restore`` of a verified, decrypted dump into the target, in one transaction."""
    target = Target.parse(dsn)
    if (schema or None) != (target.schema or None):
        raise ValidationError(
            f"this backup holds schema {schema or 'public'} but the target DSN uses "
            f"{target.schema or 'public'}: restore into a DSN with search_path={schema or 'public'}"
        )
    pg_restore = tool("pg_restore")
    with target.connect() as conn:
        _check_versions(pg_restore, conn)
        exists = schema is not None and (
            conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
            is not None
        )
    args = [pg_restore, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
    with tempfile.TemporaryDirectory() as tmp:
        if exists:  # restore into the existing (empty) schema: leave out CREATE SCHEMA
            listing = subprocess.run(  # noqa: S603 - no shell
                [pg_restore, "-l", str(dump_file)], capture_output=True, check=False
            )
            if listing.returncode != 0:
                raise StorageError(f"pg_restore -l failed: {_last_line(listing.stderr)}")
            lines = [
                ln
                for ln in listing.stdout.decode().splitlines()
                if not re.search(rf"\bSCHEMA - {re.escape(str(schema))}\b", ln)
            ]
            (Path(tmp) / "toc").write_text("\n".join(lines) + "\n")
            args += ["-L", str(Path(tmp) / "toc")]
        args += ["--dbname", target.conninfo, str(dump_file)]
        done = subprocess.run(  # noqa: S603 - no shell
            args, capture_output=True, env=target.env, check=False
        )
    if done.returncode != 0:
        raise StorageError(f"pg_restore failed: {_last_line(done.stderr)}")


@contextmanager
def scratch_database(admin_dsn: str, schema: str | None) -> Iterator[str]:
    """A new empty database on the same server (needs CREATEDB), dropped afterwards; yields a
    DSN for it (with ``search_path`` set to ``schema`` when the dump has one)."""
    admin = Target.parse(admin_dsn)
    name = f"mar_check_{uuid.uuid4().hex[:16]}"
    assert _IDENT.match(name)
    with admin.connect() as conn:
        try:
            conn.execute(f"CREATE DATABASE {name}")
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot create a scratch database for the check ({type(exc).__name__}); "
                "the role needs CREATEDB, or give --scratch-dsn of an empty database"
            ) from None
    scratch = admin.with_dbname(name)
    parts = conninfo.conninfo_to_dict(scratch.conninfo)
    if schema:
        parts["options"] = f"-csearch_path={schema}"
    else:
        parts.pop("options", None)
    password = scratch.env.get("PGPASSWORD")
    if password:
        parts["password"] = password
    try:
        yield conninfo.make_conninfo("", **parts)
    finally:
        with admin.connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
