"""The database key store (docs/architecture.md#at-rest).

Each data folder has one random 256-bit SQLCipher key. It lives in the operating system's
credential store through :mod:`keyring`, hex-encoded, under service ``mar-desktop`` and a name
derived from the resolved data folder path (``db-key:`` + the first 16 hex digits of its
SHA-256), so two data folders on one machine never share or overwrite a key. Moving the data
folder therefore needs the key moved too; otherwise opening it raises ``KeyMissing``.

The keyring backend is chosen the standard way (``PYTHON_KEYRING_BACKEND`` or keyring's config
file). Backends that would not protect the key — null, fail, plaintext files, anything with
priority below 1, a chainer with no secure member — are refused with
:class:`~mar_desktop.errors.InsecureKeystore` unless ``MAR_ALLOW_INSECURE_KEYSTORE=1`` (demo and
tests only); :attr:`KeyStore.insecure` then tells the app to say so visibly. A chainer with
secure members is used through those members only, so the key never falls back to a plaintext
file.

Contract: any thread, but the calls may block on the OS keyring (it may prompt to unlock), so
the UI calls them off the GUI thread. Writes only the keyring entries named here: the current
key in :meth:`KeyStore.create_new`, both entries in the rekey methods below, and deleting both
in :meth:`KeyStore.erase` (a revoked tablet's crypto-erase, :mod:`storage.erase`). The key never
appears in logs or exception messages.

Rekeying adds a second entry, ``db-key-pending:`` + the same digest: the new key, stored
*before* the database is re-encrypted and removed after it has been promoted to the current
entry (:meth:`KeyStore.store_pending`, :meth:`KeyStore.promote`, :meth:`KeyStore.discard_pending`).
A pending key left by an interrupted rekey is settled by whoever opens the database, as the
first step of opening it (:meth:`storage.local_store.LocalStore.open`); this module only keeps
the entries and never touches the database. Until then :meth:`KeyStore.load_existing` refuses,
rather than hand out a key that may no longer open the database.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend

from mar_desktop.errors import InsecureKeystore, KeyMissing, StorageError

log = logging.getLogger(__name__)

SERVICE = "mar-desktop"
KEY_BYTES = 32
INSECURE_ENV = "MAR_ALLOW_INSECURE_KEYSTORE"
MIN_SECURE_PRIORITY = 1.0

# Backends refused whatever priority they claim (by "module.ClassName").
_INSECURE_CLASSES = frozenset(
    {
        "keyring.backends.null.Keyring",
        "keyring.backends.fail.Keyring",
        "keyrings.alt.file.PlaintextKeyring",
        "keyrings.alt.file.EncryptedKeyring",  # asks for a password on the terminal
    }
)


def insecure_mode_allowed() -> bool:
    """True when the environment explicitly chooses the insecure demo/test key store."""
    return os.environ.get(INSECURE_ENV) == "1"


def key_name_for(data_dir: Path) -> str:
    """The keyring user name holding the key of ``data_dir`` (stable for one resolved path)."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode("utf-8")).hexdigest()
    return "db-key:" + digest[:16]


def pending_key_name_for(data_dir: Path) -> str:
    """The keyring user name of a rekey's new key before it becomes current."""
    return "db-key-pending:" + key_name_for(data_dir).removeprefix("db-key:")


def backend_label(backend: KeyringBackend) -> str:
    """``module.ClassName`` of a backend, for messages and logs (never secret)."""
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _priority(backend: KeyringBackend) -> float:
    try:
        return float(backend.priority)
    except Exception:  # a backend that cannot even state its priority is not usable
        return float("-inf")


def is_secure_backend(backend: KeyringBackend) -> bool:
    """True for a backend that keeps secrets in a protected OS store (not a chainer)."""
    if isinstance(backend, ChainerBackend):
        return False
    if backend_label(backend) in _INSECURE_CLASSES:
        return False
    return _priority(backend) >= MIN_SECURE_PRIORITY


def secure_members(backend: KeyringBackend) -> list[KeyringBackend]:
    """The backends to use: the backend itself if secure, a chainer's secure members, or none."""
    if isinstance(backend, ChainerBackend):
        try:
            members: Sequence[KeyringBackend] = list(backend.backends)
        except Exception:
            members = []
        return [m for m in members if is_secure_backend(m)]
    return [backend] if is_secure_backend(backend) else []


class KeyStore:
    """The SQLCipher key of one data folder, kept in the OS keyring.

    Raises :class:`InsecureKeystore` at construction when the backend would not protect the key
    and insecure mode is not chosen. ``backend`` defaults to ``keyring.get_keyring()``;
    ``allow_insecure`` defaults to ``MAR_ALLOW_INSECURE_KEYSTORE=1``.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        backend: KeyringBackend | None = None,
        allow_insecure: bool | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.key_name = key_name_for(data_dir)
        self.pending_key_name = pending_key_name_for(data_dir)
        chosen = backend if backend is not None else keyring.get_keyring()
        allowed = insecure_mode_allowed() if allow_insecure is None else allow_insecure
        self.backend_name = backend_label(chosen)
        members = secure_members(chosen)
        if members:
            self._backends: list[KeyringBackend] = members
            self._insecure = False
        elif allowed:
            self._backends = [chosen]
            self._insecure = True
            log.warning(
                "INSECURE key store in use (%s): the database key is not protected; "
                "demo and test use only",
                self.backend_name,
            )
        else:
            raise InsecureKeystore(
                "No secure system key store is available (found "
                f"{self.backend_name}), so the database key cannot be protected. Install or "
                "unlock the operating system's keyring (Windows Credential Manager, macOS "
                "Keychain, GNOME Keyring/KWallet) and start again. For a demo or test only, "
                f"set {INSECURE_ENV}=1."
            )

    @property
    def insecure(self) -> bool:
        """True when the key is kept by an insecure backend because insecure mode was chosen."""
        return self._insecure

    # --- reading ------------------------------------------------------------------------------
    def _get_hex(self, name: str | None = None) -> str | None:
        for backend in self._backends:
            try:
                value = backend.get_password(SERVICE, name or self.key_name)
            except keyring.errors.KeyringLocked as exc:
                raise StorageError(
                    "The system key store is locked. Unlock it and try again."
                ) from exc
            except Exception as exc:
                raise StorageError(
                    f"The system key store ({backend_label(backend)}) could not be read."
                ) from exc
            if value is not None:
                return str(value)
        return None

    def has_key(self) -> bool:
        """True when a key for this data folder is stored."""
        return self._get_hex() is not None

    def load_existing(self) -> bytes:
        """The stored 32-byte key. Raises ``KeyMissing`` if none, ``StorageError`` if damaged
        or while an interrupted rekey's pending key is not settled yet (see the module doc).
        Reads the key store only."""
        if self._get_hex(self.pending_key_name) is not None:
            raise StorageError(
                "An interrupted re-encryption of this database is not settled yet; open the "
                "database with MAR Desktop to finish it. Nothing was changed."
            )
        return self.load_current()

    def load_current(self) -> bytes:
        """The key stored as current, whether or not a pending one exists. Errors as above."""
        value = self._get_hex()
        if value is None:
            raise KeyMissing(
                "The key for this MAR Desktop database is not in this computer's key store. "
                "Nothing was changed. Restore the key store (or the data folder at its original "
                "location) or contact your administrator."
            )
        return _decode(value)

    # --- writing ------------------------------------------------------------------------------
    def create_new(self) -> bytes:
        """Makes, stores and returns a new random key; never replaces an existing one.

        Raises ``StorageError`` if a key already exists or the key store does not keep it.
        """
        if self._get_hex() is not None:
            raise StorageError(
                "A database key for this data folder already exists; it was not replaced."
            )
        key = secrets.token_bytes(KEY_BYTES)
        backend = self._backends[0]
        try:
            backend.set_password(SERVICE, self.key_name, key.hex())
        except keyring.errors.KeyringLocked as exc:
            raise StorageError("The system key store is locked. Unlock it and try again.") from exc
        except Exception as exc:
            raise StorageError(
                f"The system key store ({backend_label(backend)}) could not save the key."
            ) from exc
        stored = self._get_hex()
        if stored is None or _decode(stored) != key:
            raise StorageError(
                f"The system key store ({backend_label(backend)}) did not keep the database key."
            )
        log.info("created a new database key in %s", backend_label(backend))
        return key

    # --- rekeying -----------------------------------------------------------------------------
    def load_pending(self) -> bytes | None:
        """The pending key of an unfinished rekey, or ``None``."""
        value = self._get_hex(self.pending_key_name)
        return None if value is None else _decode(value)

    def store_pending(self, key: bytes) -> None:
        """Stores ``key`` as the pending key (replacing a stale one) and reads it back.

        Raises ``StorageError`` if the key store does not keep it.
        """
        self._set(self.pending_key_name, key)

    def promote(self, key: bytes) -> None:
        """Makes ``key`` the current key (read back), then deletes the pending entry.

        The old current key is overwritten, i.e. retired. Raises ``StorageError``.
        """
        self._set(self.key_name, key)
        self.discard_pending()

    def discard_pending(self) -> None:
        """Deletes the pending entry if there is one. Raises ``StorageError`` on failure."""
        for backend in self._backends:
            try:
                if backend.get_password(SERVICE, self.pending_key_name) is not None:
                    backend.delete_password(SERVICE, self.pending_key_name)
            except Exception as exc:
                raise StorageError(
                    f"The system key store ({backend_label(backend)}) could not remove an old "
                    "key entry."
                ) from exc

    def _set(self, name: str, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("the database key is 32 raw bytes")
        backend = self._backends[0]
        try:
            backend.set_password(SERVICE, name, key.hex())
        except keyring.errors.KeyringLocked as exc:
            raise StorageError("The system key store is locked. Unlock it and try again.") from exc
        except Exception as exc:
            raise StorageError(
                f"The system key store ({backend_label(backend)}) could not save the key."
            ) from exc
        stored = self._get_hex(name)
        if stored is None or _decode(stored) != key:
            raise StorageError(
                f"The system key store ({backend_label(backend)}) did not keep the database key."
            )

    def erase(self) -> None:
        """Crypto-erase: deletes the current and any pending key of this data folder from every
        backend in use and checks they are gone; the database can never be opened again.
        Raises ``StorageError`` if an entry cannot be removed."""
        for name in (self.key_name, self.pending_key_name):
            for backend in self._backends:
                try:
                    if backend.get_password(SERVICE, name) is not None:
                        backend.delete_password(SERVICE, name)
                except Exception as exc:
                    raise StorageError(
                        f"The system key store ({backend_label(backend)}) could not erase the "
                        "database key."
                    ) from exc
            if self._get_hex(name) is not None:
                raise StorageError("The system key store still holds the database key.")
        log.warning("the database key of this data folder was erased (crypto-erase)")

    def load_or_create(self) -> bytes:
        """The stored key, or a new one when none exists yet."""
        value = self._get_hex()
        return _decode(value) if value is not None else self.create_new()


def _decode(value: str) -> bytes:
    try:
        key = bytes.fromhex(value)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise StorageError("The database key in the key store is damaged. Nothing was changed.")
    return key
