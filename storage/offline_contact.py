"""Where the offline limit keeps its last contact, the tablet's revocation and the server's
refusal of this app's version (device-local).

All are rows of ``sync_flags`` (migration 0004), never synced and never part of a projection:
``offline_contact`` (JSON: the server's clock at the last successful sync, this device's clock
then, and the seconds known to have passed since), ``revoked`` (the signed ``device.revoked``
entry the server sent, checked before it was saved) and ``update_required`` (the oldest app
version the server said it accepts when it refused this one's). :class:`SqlContactStore` implements
:class:`mar_desktop.people.offline.ContactStore` over a :class:`~storage.sync_state.SyncState`.

A store enrolled before the offline limit existed has no contact yet: the latest moment a sync
cursor moved (or the enrolment) counts, so an upgrade neither locks a tablet that synced lately
nor grants more time to one that did not. Threads: the ``SyncState``'s (a connection per thread).
"""

from __future__ import annotations

import json

from mar_desktop.clock import parse_utc, utc_iso
from mar_desktop.errors import StorageError
from mar_desktop.people.offline import Contact
from storage.sync_state import SyncState

FLAG_CONTACT = "offline_contact"
FLAG_REVOKED = "revoked"
FLAG_UPDATE_REQUIRED = "update_required"


class SqlContactStore:
    """See the module docstring."""

    def __init__(self, state: SyncState) -> None:
        self._state = state

    def close(self) -> None:
        """Closes the calling thread's connection of the underlying ``SyncState``."""
        self._state.close()

    def load_contact(self) -> Contact | None:
        text = self._state.flag(FLAG_CONTACT)
        if text is not None:
            try:
                data = json.loads(text)
                return Contact(
                    parse_utc(data["server_time"]),
                    parse_utc(data["device_time"]),
                    float(data["elapsed_floor"]),
                )
            except (ValueError, KeyError, TypeError):
                raise StorageError("The tablet's last-sync record is damaged.") from None
        info = self._state.server()
        if info is None:
            return None
        known = [t for t in (self._state.last_cursor_move(), info.enrolled_at) if t]
        if not known:
            return None
        at = max(parse_utc(t) for t in known)
        return Contact(at, at, 0.0)

    def save_contact(self, contact: Contact) -> None:
        data = {
            "server_time": utc_iso(contact.server_time),
            "device_time": utc_iso(contact.device_time),
            "elapsed_floor": round(contact.elapsed_floor, 3),
        }
        self._state.set_flag(FLAG_CONTACT, json.dumps(data, sort_keys=True))

    def enrolled(self) -> bool:
        return self._state.server() is not None

    def revocation_mode(self) -> str | None:
        text = self._state.flag(FLAG_REVOKED)
        if text is None:
            return None
        try:
            mode = json.loads(text)["body"]["mode"]
        except (ValueError, KeyError, TypeError):
            return "lost"  # unreadable: the most restrictive reading
        return str(mode)

    def save_revocation(self, raw: bytes) -> None:
        """Keeps the checked revocation entry (the app refuses sign-in from now on)."""
        self._state.set_flag(FLAG_REVOKED, raw.decode("utf-8"))

    def update_required(self) -> str | None:
        return self._state.flag(FLAG_UPDATE_REQUIRED)

    def save_update_required(self, oldest: str | None) -> None:
        if oldest is None:
            if self._state.flag(FLAG_UPDATE_REQUIRED) is not None:
                self._state.clear_flag(FLAG_UPDATE_REQUIRED)
            return
        self._state.set_flag(FLAG_UPDATE_REQUIRED, oldest)
