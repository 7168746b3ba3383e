"""Enrolling a fresh tablet with the facility server (docs/architecture.md#device-identity).

The flow, and why it is this way round: the server assigns the device id and tells the tablet
which facility it belongs to (:class:`sync.protocol.EnrollResponse`), and a tablet's database is
made for exactly one device of one facility (``local_device``). So a tablet enrols BEFORE it has
a database:

1. the tablet makes its Ed25519 key pair in memory (it never leaves the tablet);
2. ``POST /v1/enroll`` over the verified TLS transport sends the one-time code and the PUBLIC key;
3. with the answer it creates the encrypted database in one transaction: ``local_device``
   (server-assigned device id, the facility id, the private key), the device keys of itself and
   of the server device, and ``sync_server`` (URL, server id, server public key, optional pin and
   private CA);
4. it opens it as a :class:`~storage.local_store.LocalStore` and appends an
   ``audit.device_enrolled`` entry. Everything else (facility, users, residents) arrives with
   the first sync (bootstrap from the feed).

If step 3 fails after step 2 succeeded, the code is spent: the admin makes a new one. An existing
database is never touched (StorageError). Thread: the caller's; blocking network I/O.
"""

from __future__ import annotations

import hashlib
from datetime import UTC
from pathlib import Path

from mar_desktop import audit
from mar_desktop.clock import Clock, SystemClock, utc_iso
from mar_desktop.envelope import SYSTEM_ACTOR
from mar_desktop.errors import StorageError, TransportRefused
from mar_desktop.signing import DeviceSigner
from storage.database import connect, database_path
from storage.local_store import KeyProvider, LocalStore
from storage.migrate import migrate
from storage.projections_reference import register_device_key
from storage.sync_state import ServerInfo, save_server
from sync.client import ServerClient, check_url, normalise_pin


def read_ca_file(path: Path | None) -> str | None:
    """The PEM text of a private CA file (kept in the database, so the file can go)."""
    if path is None:
        return None
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise TransportRefused("The CA certificate file could not be read.") from None
    if "BEGIN CERTIFICATE" not in text:
        raise TransportRefused("The CA file holds no PEM certificate.")
    return text


def enroll(
    data_dir: Path,
    keystore: KeyProvider | bytes,
    *,
    server_url: str,
    code: str,
    pin: str | None = None,
    ca_pem: str | None = None,
    label: str = "",
    clock: Clock | None = None,
) -> LocalStore:
    """Enrols this tablet and creates its database (see module doc). Returns the open store.

    Raises TransportRefused (plain HTTP, TLS, pin), SyncError (code refused, network),
    StorageError (a database already exists; nothing is sent then).
    """
    clock = clock or SystemClock()
    url = check_url(server_url)
    pin = normalise_pin(pin)
    path = database_path(data_dir)
    if path.exists():
        raise StorageError(
            "This tablet already has a database; enrolment makes a new one and was not started."
        )
    signer = DeviceSigner.generate()
    with ServerClient(url, ca_pem=ca_pem, pin=pin) as client:
        answer = client.enroll(code, signer.public_hex, label or "tablet")
    if hashlib.sha256(bytes.fromhex(answer.server_public_key)).hexdigest()[:32] != (
        answer.server_id
    ):
        raise TransportRefused("The server's identity does not match its key; not enrolled.")
    key = keystore if isinstance(keystore, bytes) else keystore.load_or_create()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = utc_iso(clock.now().astimezone(UTC))
    conn = connect(path, key, create=True)
    try:
        migrate(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "INSERT INTO local_device (singleton, device_id, facility_id, signing_key, "
                "created_at) VALUES (1, ?, ?, ?, ?)",
                (answer.device_id, answer.facility_id, signer.private_bytes(), now),
            )
            register_device_key(
                conn,
                answer.device_id,
                signer.public_hex,
                label="this device",
                registered_at=now,
                source="local",
            )
            register_device_key(
                conn,
                answer.server_device_id,
                answer.server_public_key,
                label="mar-server",
                registered_at=now,
                source="enrolment",
            )
            save_server(
                conn,
                ServerInfo(
                    url=url,
                    server_id=answer.server_id,
                    server_device_id=answer.server_device_id,
                    server_public_key=answer.server_public_key,
                    pin=pin,
                    ca_pem=ca_pem,
                    enrolled_at=now,
                ),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()
    store = LocalStore.open(data_dir, key, clock)
    store.ledger.append(
        [
            audit.audit_draft(
                audit.DEVICE_ENROLLED,
                actor=SYSTEM_ACTOR,
                user_name="system",
                entity_type="device",
                entity_id=answer.device_id,
                detail=f"enrolled with server {answer.server_id}",
            )
        ]
    )
    return store
