"""Account records both ways, so a user set up on one tablet signs in offline on another.

Push: every signed account version made on this tablet (``account_records``, ``source =
'local'``) in the order it was stored, after the ``accounts_pushed`` cursor, as
``PUT /v1/credentials/{user_id}``. The server verifies it and co-signs an admin change; the
co-signed copy comes back through the pull. A 409 (the server holds that version with other
content: another tablet changed the account first) is counted as a conflict: the version the
server took wins here too once pulled. A 403 (it does not verify) is counted as refused.

Pull: ``GET /v1/credentials`` after the ``credentials`` cursor. A signed record is verified
before it is stored (:meth:`SqlCredentialStore.store_synced`: it must follow the version held,
an admin change must carry the server's co-signature, a self change the user's own key). One
that does not verify is held back (quarantine, no content kept), written to this tablet's
audit chain and reported to the server, which raises the alert (``on_refused``). Unsigned
records from before signed statements (the server's first-admin shape, tablets' version-1
records) are kept as they were (``store_legacy``): the server no longer accepts new ones.
Never logged.

Thread: the engine's sync thread. Raises SyncError (transport) and StorageError.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from mar_desktop.errors import CredentialRefused, ValidationError
from mar_desktop.people.credentials import CredentialRecord, FirstAdminRecord
from mar_desktop.people.statements import AccountRecord
from mar_desktop.signing import load_public_key
from storage.credentials import SqlCredentialStore
from storage.sync_state import ACCOUNTS_PUSHED, CREDENTIALS, SyncState
from sync.client import ServerClient

OnRefused = Callable[[str, int, str], None]
"""``(user_id, version, reason)`` of a pulled record that did not verify."""


@dataclass(slots=True)
class CredentialResult:
    pushed: int = 0
    pulled: int = 0
    conflicts: int = 0
    rejected: int = 0
    refused: int = 0
    """Records refused as not authorised: by the server (push) or by this tablet (pull)."""


def push_credentials(
    client: ServerClient,
    state: SyncState,
    *,
    batch: int = 200,
    stopping: Callable[[], bool],
    result: CredentialResult,
) -> None:
    cursor, _ = state.cursor(ACCOUNTS_PUSHED)
    while not stopping():
        rows = state.local_credentials_after(cursor, batch)
        if not rows:
            return
        for rowid, raw in rows:
            try:
                record = AccountRecord.from_canonical(raw)
            except ValidationError:
                result.rejected += 1
            else:
                body: dict[str, Any] = json.loads(raw)
                status = client.put_credential(record.user_id, record.version, body)
                if status == 409:
                    result.conflicts += 1
                elif status == 403:
                    result.refused += 1
                else:
                    result.pushed += 1
            cursor = rowid
            state.set_cursor(ACCOUNTS_PUSHED, cursor)


def _from_server_shape(
    record: dict[str, Any], version: int, server_device_id: str
) -> CredentialRecord:
    """The first admin's record as servers made it before signed statements, as a version-1
    CredentialRecord. Raises pydantic's ValidationError when it is not a FirstAdminRecord."""
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


def _parse(
    item: dict[str, Any], version: int, server_device_id: str
) -> AccountRecord | CredentialRecord | None:
    if item.get("v") == 2:
        try:
            return AccountRecord.model_validate(item)
        except PydanticValidationError:
            return None
    try:
        return CredentialRecord.model_validate(item)
    except PydanticValidationError:
        try:
            return _from_server_shape(item, version, server_device_id)
        except PydanticValidationError:
            return None


def pull_credentials(
    client: ServerClient,
    state: SyncState,
    creds: SqlCredentialStore,
    server_device_id: str,
    server_public_key: str,
    *,
    page_size: int = 500,
    stopping: Callable[[], bool],
    result: CredentialResult,
    on_refused: OnRefused,
) -> None:
    server_key = load_public_key(server_public_key)
    after, _ = state.cursor(CREDENTIALS)
    while not stopping():
        page = client.credentials(after, page_size)
        for item in page.items:
            record = _parse(item.record, item.version, server_device_id)
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
            if isinstance(record, CredentialRecord):
                result.pulled += int(creds.store_legacy(record))
                continue
            try:
                result.pulled += int(creds.store_synced(record, server_key))
            except CredentialRefused as refused:
                result.refused += 1
                if state.quarantine(
                    "pull",
                    f"credential:{item.pos}",
                    code="credential_refused",
                    reason=str(refused),
                ):
                    on_refused(record.user_id, record.version, str(refused))
        if page.next != after:
            after = page.next
            state.set_cursor(CREDENTIALS, after)
        if not page.more:
            return
