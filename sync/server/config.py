"""Where the server keeps things: data directory, signing key, database URL.

Data directory (``--data`` or ``MAR_SERVER_DATA``, default ``./mar-server-data``), mode 0700:

- ``server-signing.key`` — the server's Ed25519 private key (hex), mode 0600, created by
  ``mar-server init``. It signs push receipts and the server device's entries (alerts, enrolments,
  the first admin). Back it up with the database; the server refuses to start if the file is
  readable by group or others.
- ``mar-server.sqlite3`` — the default database when ``MAR_SERVER_DB`` / ``--db`` is not given.

``MAR_SERVER_DB`` / ``--db``: a SQLite file path (optionally ``sqlite:PATH``) or a
``postgresql://`` DSN.

``MAR_TRUSTED_PROXIES`` / ``--trusted-proxy``: addresses or networks (CIDR) of the load
balancers in front of the server. Only a connection from one of them may name the client in
``X-Forwarded-For`` (and the scheme in ``X-Forwarded-Proto``); from anywhere else those headers
are ignored. With any proxy configured, ``/metrics`` always needs ``MAR_METRICS_TOKEN``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import stat
from pathlib import Path

from mar_desktop.errors import StorageError
from mar_desktop.private_files import private_dir
from mar_desktop.signing import DeviceSigner
from sync.server.store import Store

KEY_FILE = "server-signing.key"
DEFAULT_DB_FILE = "mar-server.sqlite3"
DEFAULT_DATA_DIR = "mar-server-data"


def data_dir(explicit: str | None = None) -> Path:
    return Path(explicit or os.environ.get("MAR_SERVER_DATA") or DEFAULT_DATA_DIR)


def db_url(data: Path, explicit: str | None = None) -> str:
    return explicit or os.environ.get("MAR_SERVER_DB") or str(data / DEFAULT_DB_FILE)


def trusted_proxies(explicit: list[str] | None = None) -> tuple[str, ...]:
    """The trusted proxy addresses/networks: ``explicit`` (``--trusted-proxy``, repeatable,
    each may be comma-separated) if given, else ``MAR_TRUSTED_PROXIES`` (comma-separated),
    normalised. Empty: no proxy is trusted. Raises ``ValueError`` for a malformed entry and
    for one that would trust every address."""
    given = explicit if explicit else [os.environ.get("MAR_TRUSTED_PROXIES", "")]
    out: list[str] = []
    for item in (part.strip() for text in given for part in text.split(",")):
        if not item:
            continue
        network = ipaddress.ip_network(item, strict=False)
        if network.prefixlen == 0:
            raise ValueError(f"trusted proxy {item!r} would trust every address")
        out.append(str(network))
    return tuple(out)


def open_store(url: str, *, pool_size: int = 8) -> Store:
    """Opens (without migrating) the store the URL names. Raises ``StorageError``."""
    if url.startswith(("postgresql://", "postgres://")):
        from sync.server.postgres_store import PostgresStore

        return PostgresStore(url, pool_size=pool_size)
    from sync.server.sqlite_store import SqliteStore

    path = url.removeprefix("sqlite:")
    if path.startswith("//"):
        path = path[2:]
    if not path:
        raise StorageError("no server database path given")
    if not Path(path).parent.exists():  # a folder made here is the service's alone
        private_dir(Path(path).parent)
    return SqliteStore(path, pool_size=pool_size)


def create_server_key(data: Path) -> DeviceSigner:
    """Makes the server key file (0600) in ``data`` (0700). Refuses to overwrite one."""
    private_dir(data)
    signer = DeviceSigner.generate()
    path = data / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise StorageError(f"a server key already exists in {data}; not replaced") from None
    with os.fdopen(fd, "w") as out:
        out.write(signer.private_bytes().hex() + "\n")
        out.flush()
        os.fsync(out.fileno())
    return signer


def load_server_key(data: Path) -> DeviceSigner:
    """Reads the server key. Raises ``StorageError`` if missing, unreadable or too open."""
    path = data / KEY_FILE
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise StorageError(f"{path} must be readable by its owner only (chmod 600)")
        return DeviceSigner.from_private_bytes(bytes.fromhex(path.read_text().strip()))
    except FileNotFoundError:
        raise StorageError(f"no server key in {data}: run 'mar-server init' first") from None
    except (OSError, ValueError) as exc:
        raise StorageError(f"cannot read the server key in {data}") from exc


def server_id_of(public_key_hex: str) -> str:
    """The server's stable id: the first 32 hex digits of SHA-256 of its public key."""
    return hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()[:32]
