"""Reading and writing account records inside one transaction: the chain head of an account
and the verified insert (docs/architecture.md#credentials). Used by
:class:`storage.credentials.SqlCredentialStore`; every function takes the caller's connection
and runs no transaction of its own. Raises ``sqlcipher3.Error`` (the caller translates it) and
:class:`~mar_desktop.errors.CredentialRefused`.

The head of an account: the newest unsigned version-1 record (``credential_records``, stored
before signed statements), then each version of ``account_records`` that names the digest of
the one before, preferring at each version what the server returned (``source = 'sync'``,
co-signed first) over what this tablet made. A version that names no held predecessor ends the
chain, so a local change that the server superseded is never the head.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from mar_desktop.clock import utc_iso
from mar_desktop.errors import Conflict
from mar_desktop.people.authority import Origin, check_next, expected_prev
from mar_desktop.people.credentials import CredentialRecord
from mar_desktop.people.statements import AccountRecord, HeldRecord
from mar_desktop.signing import PublicKey
from storage.database import Connection

_LEGACY_LATEST = (
    "SELECT record FROM credential_records WHERE user_id = ? ORDER BY version DESC,"
    " source = 'sync' DESC, updated_at DESC, updated_by_device DESC LIMIT 1"
)
_CHAIN = (
    "SELECT version, record FROM account_records WHERE user_id = ?"
    " ORDER BY version, source = 'sync' DESC, cosigned DESC, id"
)


def legacy_head(conn: Connection, user_id: str) -> CredentialRecord | None:
    row = conn.execute(_LEGACY_LATEST, (user_id,)).fetchone()
    return None if row is None else CredentialRecord.from_canonical(bytes(row[0]))


def chain(conn: Connection, user_id: str, below: int | None = None) -> list[HeldRecord]:
    """The account's versions in force, oldest first (the last is the head); only versions
    under ``below`` when given."""
    current: HeldRecord | None = legacy_head(conn, user_id)
    out: list[HeldRecord] = [] if current is None else [current]
    rows = conn.execute(_CHAIN, (user_id,)).fetchall()
    for version, group in groupby(rows, key=lambda r: int(r[0])):
        if below is not None and version >= below:
            break
        want_version, want_prev = expected_prev(current)
        if version < want_version:
            continue
        if version > want_version:
            break
        picked = None
        for row in group:
            record = AccountRecord.from_canonical(bytes(row[1]))
            if record.prev == want_prev:
                picked = record
                break
        if picked is None:
            break
        current = picked
        out.append(picked)
    return out


def head(conn: Connection, user_id: str, below: int | None = None) -> HeldRecord | None:
    found = chain(conn, user_id, below)
    return found[-1] if found else None


def verify_and_insert(
    conn: Connection,
    record: AccountRecord,
    *,
    origin: Origin,
    server_key: PublicKey | None,
    now: Any,
) -> bool:
    """Checks ``record`` against the version it follows and stores it; False when the same
    content (and co-signature state) is already held from the same source."""
    source = "local" if origin is Origin.LOCAL else "sync"
    digest = record.digest()
    cosigned = int(record.server_sig is not None)
    held = conn.execute(
        "SELECT 1 FROM account_records WHERE user_id = ? AND version = ? AND digest = ?"
        " AND cosigned = ? AND source = ?",
        (record.user_id, record.version, digest, cosigned, source),
    ).fetchone()
    if held:
        return False
    before = head(conn, record.user_id, below=record.version)
    if origin is Origin.LOCAL and head(conn, record.user_id) != before:
        raise Conflict("The account's sign-in data changed meanwhile. Please try again.")
    check_next(
        before,
        record,
        origin=origin,
        signers=lambda user_id: head(conn, user_id),
        server_key=server_key,
    )
    conn.execute(
        "INSERT INTO account_records (user_id, version, digest, cosigned, record, source,"
        " stored_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            record.user_id,
            record.version,
            digest,
            cosigned,
            record.to_canonical(),
            source,
            utc_iso(now),
        ),
    )
    return True

