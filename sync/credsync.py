"""Credential records both ways, so a user set up on one tablet signs in offline on another.

Push: every credential version made on this tablet (``source = 'local'``) in the order it was
stored, after the ``credentials_pushed`` cursor, as ``PUT /v1/credentials/{user_id}`` with the
record's canonical JSON. A 409 (the server already holds that version, differently: two
tablets changed the same account offline) is counted as a conflict; the tablet keeps both
versions locally (the highest ``(version, updated_at, device)`` wins there).

Pull: ``GET /v1/credentials`` after the ``credentials`` cursor; each record is validated as a
:class:`CredentialRecord` and kept with ``store_synced`` (idempotent). The first admin made by
``mar-server init`` has the server's own record shape (``password_hash``, ``created_at`` …); it is
converted to version 1 of a CredentialRecord (temporary password, must change, no TOTP yet). A
record that is neither is held back (quarantine, no content kept) — never logged.

Thread: the engine's sync thread. Raises SyncError (transport) and StorageError.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from mar_desktop.errors import ValidationError
from mar_desktop.people.credentials import CredentialRecord, FirstAdminRecord
from storage.credentials import SqlCredentialStore
from storage.sync_state import CREDENTIALS, CREDENTIALS_PUSHED, SyncState
from sync.client import ServerClient


@dataclass(slots=True)
class CredentialResult:
    pushed: int = 0
    pulled: int = 0
    conflicts: int = 0
    rejected: int = 0


def push_credentials(
    client: ServerClient,
    state: SyncState,
    *,
    batch: int = 200,
    stopping: Callable[[], bool],
    result: CredentialResult,
) -> None:
    cursor, _ = state.cursor(CREDENTIALS_PUSHED)
    while not stopping():
        rows = state.local_credentials_after(cursor, batch)
        if not rows:
            return
        for rowid, raw in rows:
            try:
                record = CredentialRecord.from_canonical(raw)
            except ValidationError:
                result.rejected += 1
            else:
                body: dict[str, Any] = json.loads(raw)
                status = client.put_credential(record.user_id, record.version, body)
                if status == 409:
                    result.conflicts += 1
                else:
                    result.pushed += 1
            cursor = rowid
            state.set_cursor(CREDENTIALS_PUSHED, cursor)


def _from_server_shape(
    record: dict[str, Any], version: int, server_device_id: str
) -> CredentialRecord:
    """The first admin's record as the server made it, as a CredentialRecord. Raises pydantic's
    ValidationError when ``record`` is not a :class:`FirstAdminRecord`."""
    first = FirstAdminRecord.model_validate(record)
    return CredentialRecord(
        user_id=first.user_id,
        version=version,
        password_hash=first.password_hash,
        must_change_password=first.must_change_password,
        change="created",
        updated_at=first.created_at,
        updated_by="system",
        updated_by_device=server_device_id,
    )


def pull_credentials(
    client: ServerClient,
    state: SyncState,
    creds: SqlCredentialStore,
    server_device_id: str,
    *,
    page_size: int = 500,
    stopping: Callable[[], bool],
    result: CredentialResult,
) -> None:
    after, _ = state.cursor(CREDENTIALS)
    while not stopping():
        page = client.credentials(after, page_size)
        for item in page.items:
            record: CredentialRecord | None
            try:
                record = CredentialRecord.model_validate(item.record)
            except PydanticValidationError:
                try:
                    record = _from_server_shape(item.record, item.version, server_device_id)
                except PydanticValidationError:
                    record = None
            if record is None or record.user_id != item.user_id or record.version != item.version:
                result.rejected += int(
                    state.quarantine(
                        "pull",
                        f"credential:{item.pos}",
                        code="credential_invalid",
                        reason="a credential record from the server is not valid",
                    )
                )
                continue
            result.pulled += int(creds.store_synced(record))
        if page.next != after:
            after = page.next
            state.set_cursor(CREDENTIALS, after)
        if not page.more:
            return
