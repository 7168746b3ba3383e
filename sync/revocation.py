"""What a tablet does when its server says it is revoked.

See docs/architecture.md#lost-and-retired-tablets.

The server's 403 ``device revoked`` carries the signed ``device.revoked`` entry of the server
device (:mod:`sync.protocol`, "Revocation"). :func:`checked_revocation` accepts it only if it is
canonical, signed by the server key this tablet kept at enrolment, of this facility, and names
THIS device — so neither a forged answer nor another tablet's revocation can make a tablet erase
itself. A refusal without a valid entry is "cannot sync" as before: nothing is erased.

:meth:`Revocations.obey`, on the sync thread:

1. keeps the entry (``sync_flags``: sign-in is refused from now on, even after a restart),
   tells :attr:`Revocations.revoked` listeners (the app signs everyone out) and, the first time,
   writes a ``device_revoked`` audit entry;
2. ``retire``: hands over what it holds — the engine's push of both chains and credentials
   (the audit entry above included) — then confirms with ``POST /v1/retire``. It erases only
   when the server confirmed the retirement (now, or earlier: then it refuses the tablet) AND
   nothing of this tablet is unacknowledged: unacknowledged doses are never erased. Otherwise it
   reports what is waiting and tries again at the next sync;
3. ``lost``: the server refuses everything from the revocation on, so there is nothing to hand
   over: it erases at once;
4. erases through :class:`storage.erase.Eraser` (the database key), tells
   :attr:`Revocations.erased` listeners, and returns the :class:`DeviceRevoked` to raise, whose
   message says what happened. Without an eraser (a tool that opened the database with a raw
   key) it says the tablet must be erased by hand.

Raises nothing itself beyond ``StorageError`` from the local database; logs no PHI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from mar_desktop import audit, kinds
from mar_desktop.chain import check_signature
from mar_desktop.clock import Clock
from mar_desktop.envelope import SYSTEM_ACTOR, Chain, parse_raw
from mar_desktop.errors import DeviceRevoked, StorageError, SyncError, ValidationError
from mar_desktop.people.offline import OfflineLimit
from mar_desktop.signing import load_public_key
from storage.erase import Erased, Eraser
from storage.local_store import LocalStore
from storage.offline_contact import FLAG_REVOKED, SqlContactStore
from storage.sync_state import CREDENTIALS_PUSHED, ServerInfo, SyncState
from sync.client import ServerClient
from sync.status import Listeners

log = logging.getLogger(__name__)
CHAINS: tuple[Chain, ...] = ("ledger", "audit")


@dataclass(frozen=True, slots=True)
class Revocation:
    """A checked revocation of this tablet."""

    mode: str
    raw: bytes
    recorded_at: str


def checked_revocation(
    raw: bytes | None, info: ServerInfo, device_id: str, facility_id: str
) -> Revocation | None:
    """The revocation ``raw`` states for THIS device, if the server key signed it; else None."""
    if raw is None:
        return None
    try:
        entry = parse_raw(raw)
        if entry.kind != kinds.DEVICE_REVOKED:
            return None
        body = kinds.parse_body(entry.kind, entry.body)
        signed = check_signature(raw, load_public_key(info.server_public_key))
    except (ValueError, ValidationError):
        return None
    if (
        not isinstance(body, kinds.DeviceRevoked)
        or not signed
        or entry.device_id != info.server_device_id
        or entry.facility_id != facility_id
        or body.device_id != device_id
    ):
        return None
    return Revocation(body.mode, raw, entry.recorded_at)


class Revocations:
    """See the module docstring. Used by :class:`sync.engine.SyncEngine` on its sync thread."""

    def __init__(
        self,
        store: LocalStore,
        state: SyncState,
        offline: OfflineLimit,
        eraser: Eraser | None,
        clock: Clock,
    ) -> None:
        self._store = store
        self._state = state
        self._contacts = SqlContactStore(state)
        self._offline = offline
        self._eraser = eraser
        self._clock = clock
        self.revoked = Listeners[Revocation]()
        """Told (sync thread) as soon as a revocation is checked: sign everyone out."""
        self.erased = Listeners[Erased]()
        """Told (sync thread) once the database key is erased: close the store."""
        self.erased_note: Erased | None = None

    def unacknowledged(self, pending: Callable[[], int]) -> int:
        """This tablet's entries and credential versions the server has not acknowledged."""
        cursor, _ = self._state.cursor(CREDENTIALS_PUSHED)
        return pending() + len(self._state.local_credentials_after(cursor, 1))

    def obey(
        self,
        exc: DeviceRevoked,
        info: ServerInfo,
        client: ServerClient | None,
        hand_over: Callable[[ServerClient], None],
        pending: Callable[[], int],
    ) -> DeviceRevoked:
        """Acts on a refusal (see the module docstring); returns the error to raise."""
        notice = checked_revocation(
            exc.revocation, info, self._store.device_id, self._store.facility_id
        )
        if notice is None:
            return exc
        first = self._state.flag(FLAG_REVOKED) is None
        self._contacts.save_revocation(notice.raw)
        self._offline.note_revoked(notice.mode)
        self.revoked.announce(notice)
        if first:
            self._store.ledger.append(
                [
                    audit.audit_draft(
                        audit.DEVICE_REVOKED,
                        actor=SYSTEM_ACTOR,
                        user_name="system",
                        entity_type="device",
                        entity_id=self._store.device_id,
                        detail=f"revoked by the facility ({notice.mode}); everyone signed out",
                    )
                ]
            )
        if notice.mode == "retire":
            waiting = self._retire(notice, info, client, hand_over, pending)
            if waiting:
                return DeviceRevoked(
                    "This tablet is being retired by the facility administrator: everyone was "
                    "signed out. "
                    f"{waiting} record(s) have not reached the server yet, so nothing was "
                    "erased; it keeps trying. Keep it connected."
                )
        return self._erase(notice)

    def _retire(
        self,
        notice: Revocation,
        info: ServerInfo,
        client: ServerClient | None,
        hand_over: Callable[[ServerClient], None],
        pending: Callable[[], int],
    ) -> int:
        """Hands over and confirms; 0 when the tablet may erase, else what is still waiting
        (at least 1 when the server has not confirmed)."""
        confirmed = False
        if client is not None and client.authenticated:
            try:
                hand_over(client)
                if self.unacknowledged(pending) == 0:
                    device = self._store.device_id
                    ledger, audit_head = (self._state.head(device, c)[0] for c in CHAINS)
                    client.retire(ledger, audit_head)
                    confirmed = True
            except DeviceRevoked as again:
                later = checked_revocation(
                    again.revocation, info, self._store.device_id, self._store.facility_id
                )
                if later is not None and later.mode == "lost":
                    self._contacts.save_revocation(later.raw)
                    return 0  # lost now: refused from its revocation on, nothing to hand over
                confirmed = later is not None  # refused as retired: it confirmed before
            except SyncError as failed:
                log.warning("retiring: hand-over not finished (%s)", failed)
        else:
            confirmed = True  # refused outright as retired: it confirmed at an earlier contact
        waiting = self.unacknowledged(pending)
        if waiting or not confirmed:
            return max(waiting, 1)
        return 0

    def _erase(self, notice: Revocation) -> DeviceRevoked:
        mode = self._contacts.revocation_mode() or notice.mode
        if self._eraser is None:
            return DeviceRevoked(
                f"This tablet was revoked by the facility administrator ({mode}); everyone was "
                "signed out. It could not erase its database from here: give it back to the "
                "administrator."
            )
        try:
            note = self._eraser.erase(self._store.device_id, mode, self._clock.now())
        except StorageError as failed:
            return DeviceRevoked(
                f"This tablet was revoked ({mode}); everyone was signed out, but erasing its "
                f"database key failed: {failed} Give it to the administrator."
            )
        self.erased_note = note
        self.erased.announce(note)
        return DeviceRevoked(
            f"This tablet was revoked by the facility ({mode}) and its database was erased "
            "(its key is destroyed). Give it back to the administrator."
        )
