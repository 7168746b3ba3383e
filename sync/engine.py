"""The tablet's sync engine (docs/architecture.md#sync): one sync = cursor, push, pull,
credentials, audit.

:meth:`SyncEngine.sync_once` runs one complete sync on the calling thread (the CLI's, or the
engine's own timer thread) and returns a :class:`SyncReport`; syncs never overlap (a lock).
Order: sign in (challenge–response, token in memory) → ``GET /v1/cursor`` → return the server's
own entries a restored server lost (:func:`sync.push.relay_server_chain`) → push ledger and
audit chains (:mod:`sync.push`) → on a new tablet, the server's signed snapshot of current
state (:mod:`sync.snapshot`) → pull the feed (:mod:`sync.pull`; on a tablet started from a
snapshot, every chain is then proven to pass through the checkpoint's heads) → credentials both
ways (:mod:`sync.credsync`) → if anything moved, an ``audit.synced`` entry, pushed at once →
while history is incomplete, up to :attr:`SyncEngine.backfill_slice` seconds of backfill
(:mod:`sync.backfill`), its progress on :attr:`SyncEngine.status`.

:meth:`start` runs syncs on a daemon thread (``mar-sync``): every ``interval`` seconds after a
success, after a capped exponential backoff with jitter after a failure, and at once after
:meth:`request_sync` (e.g. after a local write). :meth:`stop` returns within its timeout at any
moment: it signals the thread, closes the in-flight HTTP client so a blocked request ends, and
joins; whatever was half done is re-established by the next sync's cursor check (the server
acknowledges identical re-sends, ingest skips held entries). The GUI's composition root owns
the engine; no Qt here. Status changes go to :attr:`status` (:class:`StatusBoard`).

After each success the engine notes the server's clock for the offline limit
(:mod:`mar_desktop.people.offline`: :attr:`SyncEngine.offline`); after a failure it raises that
limit's floor. A refusal carrying the server's signed revocation is obeyed by
:class:`sync.revocation.Revocations` (sign everyone out, hand over what the tablet holds when it
is retired, crypto-erase); its listeners are :attr:`SyncEngine.revocations`.

Raises (from ``sync_once``): SyncError subclasses (TransportRefused, DeviceRevoked,
TabletUpdateRequired, ForkDetected) and StorageError. Logs hold counts and plain reasons only,
never PHI or secrets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from mar_desktop import audit
from mar_desktop.changes import NO_CHANGES, Changes
from mar_desktop.clinical.reconcile import clock_words
from mar_desktop.clock import Clock, ServerCorrectedClock, SystemClock, parse_utc, utc_iso
from mar_desktop.envelope import SYSTEM_ACTOR, EntryDraft
from mar_desktop.errors import (
    DeviceRevoked,
    ForkDetected,
    MarError,
    SyncError,
    TabletUpdateRequired,
    TransportRefused,
)
from mar_desktop.model import FacilitySettings
from mar_desktop.people.offline import OfflineLimit
from mar_desktop.sync_status import State, SyncStatus
from storage import history
from storage.credentials import SqlCredentialStore
from storage.erase import Eraser
from storage.local_store import LocalStore
from storage.offline_contact import SqlContactStore
from storage.sync_state import (
    ACCOUNTS_PUSHED,
    CREDENTIALS,
    FLAG_FORK,
    ServerInfo,
    SyncState,
    acked_cursor,
)
from sync.backfill import backfill
from sync.backoff import Backoff
from sync.client import ServerClient
from sync.credsync import CredentialResult, pull_credentials, push_credentials
from sync.pull import pull_feed
from sync.push import CHAINS, PushResult, push_chain, relay_server_chain
from sync.revocation import Revocations
from sync.snapshot import is_new, prove_checkpoint, start_from_snapshot
from sync.status import Listeners, StatusBoard
from sync.unsynced import oldest_unsynced_at

log = logging.getLogger(__name__)
FLAG_CLOCK_OFF = "clock_off_seconds"
"""Device-local: the clock offset last recorded as off ("" once it was right again)."""
DEFAULT_CLOCK_LIMIT = FacilitySettings.model_fields["clock_skew_alert_seconds"].default

ClientMaker = Callable[[ServerInfo], ServerClient]

HISTORY_PAUSE = 0.5
"""Seconds between background syncs while history is being filled in."""


def default_client(info: ServerInfo) -> ServerClient:
    return ServerClient(info.url, ca_pem=info.ca_pem, pin=info.pin)


class _Stopped(Exception):
    pass


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one sync moved (counts only: safe to print and log)."""

    pushed: int = 0
    pulled: int = 0
    quarantined: int = 0
    alerts: int = 0
    credentials_pushed: int = 0
    credentials_pulled: int = 0
    credential_conflicts: int = 0
    credentials_refused: int = 0
    """Account records that did not verify as authorised: refused by the server (pushed from
    here) or by this tablet (pulled; audited, quarantined and reported to the server)."""
    held_back: bool = False
    server_rewound: bool = False
    server_lost: bool = False
    """The server held less of this tablet's chains than it had acknowledged (restored from an
    older backup): the entries and every credential version were sent again."""
    changes: Changes = NO_CHANGES
    """What the pulled entries touched (announced to :attr:`SyncEngine.pulled`)."""
    newer: int = 0
    """Pulled entries of a newer app version: kept, applied once this tablet is updated."""
    snapshot: int = 0
    """Current-state entries stored from the server's snapshot (a new tablet's first sync)."""
    backfilled: int = 0
    """History entries stored in the background after the sync (:mod:`sync.backfill`)."""
    requests: int = 0
    """HTTP requests this sync made (sign-in included)."""
    bytes_exchanged: int = 0
    """HTTP headers and bodies, both ways, of those requests (TLS framing not counted)."""

    @property
    def moved(self) -> bool:
        return bool(
            self.pushed
            or self.pulled
            or self.snapshot
            or self.quarantined
            or self.credentials_pushed
            or self.credentials_pulled
        )

    def lines(self) -> list[str]:
        out = [
            f"pushed: {self.pushed}",
            f"pulled: {self.pulled}",
            f"quarantined: {self.quarantined}",
            f"alerts: {self.alerts}",
            f"credentials pushed: {self.credentials_pushed}",
            f"credentials pulled: {self.credentials_pulled}",
        ]
        if self.snapshot:
            out.append(f"started from the server's snapshot: {self.snapshot} records")
        if self.backfilled:
            out.append(f"history filled in: {self.backfilled}")
        if self.credential_conflicts:
            out.append(f"credential conflicts: {self.credential_conflicts}")
        if self.credentials_refused:
            out.append(
                f"account changes refused as not authorised: {self.credentials_refused} "
                "(see quarantine; the server raised an alert)"
            )
        if self.held_back:
            out.append("some records are held back (see quarantine)")
        if self.server_lost:
            out.append(
                "the server was restored from a backup; what it lost of this tablet's records "
                "and credentials was sent again"
            )
        if self.newer:
            out.append(
                f"recorded by a newer version: {self.newer} (kept; shown once this tablet is "
                "updated)"
            )
        if self.server_rewound:
            out.append("the server was restored from a backup; the feed was read again")
        if self.requests:
            kb = self.bytes_exchanged / 1024
            out.append(f"exchanged with the server: {self.requests} requests, {kb:.1f} KB")
        return out


class SyncEngine:
    """See the module docstring."""

    def __init__(
        self,
        store: LocalStore,
        *,
        clock: Clock | None = None,
        client_maker: ClientMaker = default_client,
        push_batch: int = 500,
        page_size: int = 500,
        interval: float = 60.0,
        backoff: Backoff | None = None,
        offline: OfflineLimit | None = None,
        eraser: Eraser | None = None,
        compare_clocks: bool = True,
        snapshots: bool = True,
        backfill_slice: float = 20.0,
    ) -> None:
        """``offline``: the app's offline limit (one is made over this store if None).
        ``eraser``: crypto-erases the store when the server revokes the tablet (None: a revoked
        tablet signs out and stops, but cannot erase itself). ``compare_clocks``: send this
        tablet's clock with each sync and warn while it is off the server's (False only where
        the tablet's clock is simulated and travels in time against a real server's)."""
        self.store = store
        self.clock = clock or SystemClock()
        self.state = SyncState(store.connect_reader, self.clock)
        self.offline = offline or OfflineLimit(self.clock, SqlContactStore(self.state))
        self.revocations = Revocations(store, self.state, self.offline, eraser, self.clock)
        self._creds = SqlCredentialStore(store.connect_reader, self.clock)
        self._client_maker = client_maker
        self.push_batch = push_batch
        self.page_size = page_size
        self.interval = interval
        self.backoff = backoff or Backoff()
        self.snapshots = snapshots
        """Start a new tablet from the server's snapshot (False: read the whole feed, as
        tablets before snapshots did)."""
        self.backfill_slice = backfill_slice
        """Seconds of history backfill after each sync while it is incomplete (0: none); the
        background loop syncs again at once while history is missing, so new records still
        go out at least this often."""
        self.status = StatusBoard()
        self.pulled = Listeners[Changes]()
        """Told, on the sync thread, what each sync's pulled entries changed (when any did),
        once they are stored."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: ServerClient | None = None
        self._server_date: datetime | None = None
        self._clock_offset: float | None = None
        self._compare_clocks = compare_clocks
        self.relayed = 0
        """The server's own entries this engine returned to it (after a server restore)."""

    # ---- one sync -----------------------------------------------------------------------------
    def _stopping(self) -> bool:
        return self._stop.is_set()

    def pending(self) -> int:
        """This tablet's entries the server has not acknowledged yet (both chains)."""
        device = self.store.device_id
        return sum(
            self.state.count_after(device, chain, self.state.cursor(acked_cursor(chain))[0])
            for chain in CHAINS
        )

    def sync_once(self) -> SyncReport:
        """Runs one full sync now on the calling thread (see module doc)."""
        with self._lock:
            info = self.state.server()
            if info is None:
                self.status.update(state="not_enrolled", last_error="This tablet is not enrolled.")
                raise SyncError("This tablet is not enrolled with a server yet.")
            self.status.update(state="syncing", last_attempt=self.clock.now())
            try:
                report = self._run(info)
            except BaseException as exc:
                self._failed(exc)
                raise
            self._succeeded(report)
            self.offline.note_contact(self._server_date)
            self._judge_clock(self._clock_offset)
            return report

    def _run(self, info: ServerInfo) -> SyncReport:
        client = self._client_maker(info)
        self._client = client
        self._server_date = None
        try:
            return self._exchange(client, info)
        except DeviceRevoked as refused:
            raise self.revocations.obey(
                refused, info, client, lambda c: self._hand_over(c, info), self.pending
            ) from None
        finally:
            self._server_date = client.server_date
            self._clock_offset = client.clock_offset
            self._client = None
            client.close()

    def _hand_over(self, client: ServerClient, info: ServerInfo) -> None:
        """A retiring tablet's last push: both chains and its credential versions."""
        self._push(client, info)
        push_credentials(client, self.state, stopping=self._stopping, result=CredentialResult())

    def _exchange(self, client: ServerClient, info: ServerInfo) -> SyncReport:
        if self._stopping():
            raise _Stopped
        store = self.store
        signer = self.state.identity().signer
        client.authenticate(store.device_id, info.server_id, signer)
        pushed = self._push(client, info)
        started = None
        if self.snapshots and is_new(self.state, store):
            started = start_from_snapshot(
                client, self.state, store, info, utc_iso(self.clock.now())
            )
        pulled = pull_feed(
            client, self.state, store, page_size=self.page_size, stopping=self._stopping
        )
        if not self._stopping():
            prove_checkpoint(self.state)
        if pushed.server_lost or pulled.rewound:
            # a restored server lost credential versions too: send and read them all again
            # (both sides store a version once, so what it still holds changes nothing)
            self.state.set_cursor(ACCOUNTS_PUSHED, 0)
            self.state.set_cursor(CREDENTIALS, 0)
        creds = CredentialResult()
        push_credentials(client, self.state, stopping=self._stopping, result=creds)
        pull_credentials(
            client,
            self.state,
            self._creds,
            info.server_device_id,
            info.server_public_key,
            stopping=self._stopping,
            result=creds,
            on_refused=lambda user_id, version, reason: self._refused(
                client, user_id, version, reason
            ),
        )
        report = SyncReport(
            pushed=pushed.pushed,
            pulled=pulled.pulled,
            quarantined=pushed.quarantined + pulled.quarantined + creds.rejected,
            alerts=pulled.alerts,
            credentials_pushed=creds.pushed,
            credentials_pulled=creds.pulled,
            credential_conflicts=creds.conflicts,
            credentials_refused=creds.refused,
            held_back=pushed.held_back,
            server_rewound=pulled.rewound,
            server_lost=pushed.server_lost,
            changes=Changes.everything() if started else pulled.changes,
            newer=pulled.newer,
            snapshot=0 if started is None else started.entries,
        )
        if self._stopping():
            raise _Stopped
        if report.moved and not self.state.flag(FLAG_FORK):
            store.ledger.append([self._audit(report, info)])
            self._push(client, info, chains=("audit",))
        backfilled = self._backfill(client)
        traffic = client.traffic
        return replace(
            report,
            backfilled=backfilled,
            requests=traffic.requests,
            bytes_exchanged=traffic.bytes_sent + traffic.bytes_received,
        )

    def _push(
        self, client: ServerClient, info: ServerInfo, chains: tuple[str, ...] = CHAINS
    ) -> PushResult:
        """Relays the server's lost own entries, then pushes ``chains``; what moved, summed over
        the chains (``server_lost`` if the server was behind on any)."""
        if self.state.flag(FLAG_FORK):
            raise ForkDetected(
                "Sending is stopped: the server holds different records for this tablet. "
                "Call the administrator."
            )
        cursor = client.cursor(self._device_now() if self._compare_clocks else None)
        if cursor.device_id != self.store.device_id:
            raise SyncError("The server answered for another device; nothing was sent.")
        self.relayed += relay_server_chain(
            client,
            self.state,
            info.server_device_id,
            cursor.server,
            batch=self.push_batch,
            stopping=self._stopping,
        )
        total = PushResult()
        for chain in CHAINS:
            if chain not in chains:
                continue
            head = cursor.ledger if chain == "ledger" else cursor.audit
            result = push_chain(
                client,
                self.state,
                info,
                self.store.device_id,
                chain,
                head,
                batch=self.push_batch,
                stopping=self._stopping,
            )
            total.pushed += result.pushed
            total.quarantined += result.quarantined
            total.held_back = total.held_back or result.held_back
            total.server_lost = total.server_lost or result.server_lost
        return total

    def _refused(self, client: ServerClient, user_id: str, version: int, reason: str) -> None:
        """A pulled account record did not verify: an audit entry here, and a report to the
        server, which raises the alert (tablets never raise alerts themselves)."""
        self.store.ledger.append(
            [
                audit.audit_draft(
                    audit.CREDENTIAL_REFUSED,
                    actor=SYSTEM_ACTOR,
                    user_name="system",
                    entity_type="user",
                    entity_id=user_id,
                    after={"version": version},
                    detail=reason,
                )
            ]
        )
        client.report_refused_credential(user_id, version, reason)

    def _backfill(self, client: ServerClient) -> int:
        """Up to :attr:`backfill_slice` seconds of history backfill (see :mod:`sync.backfill`),
        progress on :attr:`status`; the entries stored."""
        current = self.state.backfill()
        if self.backfill_slice <= 0 or current is None or current.done or self._stopping():
            return 0
        result = backfill(
            client,
            self.state,
            self.store,
            stopping=self._stopping,
            progress=self._history_status,
            deadline=time.monotonic() + self.backfill_slice,
        )
        after = self.state.backfill()
        if after is not None:
            self._history_status(after)
        if result.stored:
            self.pulled.announce(Changes.everything())
        return result.stored

    def _history_status(self, current: history.Backfill) -> None:
        self.status.update(
            history_progress=None if current.done else current.progress(),
            history_complete_from=parse_utc(current.complete_from),
            history_problem=current.detail if current.status == history.MISMATCH else None,
        )

    def history_pending(self) -> bool:
        """True while this tablet's history backfill is incomplete."""
        try:
            current = self.state.backfill()
        except MarError:
            return False
        return current is not None and not current.done and self.backfill_slice > 0

    def _audit(self, report: SyncReport, info: ServerInfo) -> EntryDraft:
        return audit.audit_draft(
            audit.SYNCED,
            actor=SYSTEM_ACTOR,
            user_name="system",
            entity_type="server",
            entity_id=info.server_id,
            detail="; ".join(report.lines()),
        )

    def _counts(self) -> dict[str, object]:
        try:
            return {
                "pending": self.pending(),
                "alerts": self.state.open_alerts(),
                "quarantined": self.state.quarantine_count(),
                "oldest_unsynced_at": oldest_unsynced_at(self.state, self.store.device_id),
            }
        except MarError:
            return {}

    def _judge_clock(self, offset: float | None) -> None:
        """This tablet's clock against the server's (measured at the last cursor read): beyond
        the facility's ``clock_skew_alert_seconds`` either way, the status carries the offset
        (the status bar warns until it is fixed) and a ``clock_off`` audit entry records it,
        with ``clock_right`` when it is back. Written only when the state changes (or the
        offset moves by a minute), so a steady sync writes nothing. A
        :class:`~mar_desktop.clock.ServerCorrectedClock` is corrected by the offset while it is
        off (due windows, PRN intervals and entry times then follow the server's clock)."""
        if offset is None:
            return
        facility = self.store.reader().facility()
        limit = facility.settings.clock_skew_alert_seconds if facility else DEFAULT_CLOCK_LIMIT
        off = abs(offset) > limit
        noted = self.state.flag(FLAG_CLOCK_OFF)
        action = None
        if off and (not noted or abs(float(noted) - offset) >= 60):
            self.state.set_flag(FLAG_CLOCK_OFF, f"{offset:.0f}")
            action = audit.CLOCK_OFF
        elif not off and noted:
            self.state.set_flag(FLAG_CLOCK_OFF, "")
            action = audit.CLOCK_RIGHT
        if action is not None:
            self.store.ledger.append([audit.audit_draft(
                action, actor=SYSTEM_ACTOR, user_name="system", entity_type="device",
                entity_id=self.store.device_id,
                detail=f"clock {clock_words(offset)} the server's ({offset:+.0f} s)",
            )])
        if isinstance(self.clock, ServerCorrectedClock):
            self.clock.correct(offset if off else None)
        self.status.update(clock_offset_seconds=offset if off else None)

    def _device_now(self) -> datetime:
        """This device's own clock (a corrected clock's uncorrected time): what is compared."""
        if isinstance(self.clock, ServerCorrectedClock):
            return self.clock.device_now()
        return self.clock.now()

    def _succeeded(self, report: SyncReport) -> None:
        if report.changes:
            self.pulled.announce(report.changes)
        self.backoff.success()
        log.info("sync done: %s", ", ".join(report.lines()))
        self.status.update(
            state="online",
            online=True,
            last_success=self.clock.now(),
            last_error=None,
            **self._counts(),
        )

    def _failed(self, exc: BaseException) -> None:
        state: State
        online = False
        if isinstance(exc, _Stopped):
            state, message = "stopped", None
        elif isinstance(exc, DeviceRevoked):
            erased = self.revocations.erased_note is not None
            state, message, online = ("erased" if erased else "revoked"), str(exc), True
        elif isinstance(exc, TabletUpdateRequired):
            state, message, online = "update_required", str(exc), True
            try:
                self.offline.note_update_required(exc.oldest)
            except MarError:
                log.warning("the server's refusal of this app version could not be saved")
        elif isinstance(exc, ForkDetected):
            state, message, online = "fork", str(exc), True
        elif isinstance(exc, TransportRefused):
            state, message = "refused", str(exc)
        elif isinstance(exc, MarError):
            state, message = "offline", str(exc)
        else:
            state, message = "offline", "Sync failed unexpectedly."
        if self._stopping() and not isinstance(exc, MarError):
            state, message = "stopped", None
        log.warning("sync failed: %s", message or state)
        if state == "erased":  # the database is gone: nothing more to count or sync
            self._stop.set()
            self.status.update(state=state, online=online, last_error=message, pending=0)
            return
        if not isinstance(exc, DeviceRevoked | TabletUpdateRequired | _Stopped):
            try:
                self.offline.persist_floor()
            except MarError:
                log.warning("the offline limit's floor could not be saved")
        self.status.update(state=state, online=online, last_error=message, **self._counts())

    # ---- the timer thread ---------------------------------------------------------------------
    def start(self) -> None:
        """Starts background syncing (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="mar-sync", daemon=True)
        self._thread.start()

    def request_sync(self) -> None:
        """Asks the background thread to sync now (any thread; returns at once)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stops background syncing; returns True if the thread ended within ``timeout``."""
        self._stop.set()
        self._wake.set()
        client = self._client
        if client is not None:
            try:
                client.close()  # ends a blocked request; the sync thread sees an error
            except Exception:  # closing a half-used client may fail; harmless
                log.debug("closing the sync client while stopping failed")
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        ended = not thread.is_alive()
        if ended:
            self._thread = None
            self.status.update(state="stopped", next_attempt_in=None)
        return ended

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                delay = self.interval
                try:
                    self.sync_once()
                except DeviceRevoked:
                    delay = self.backoff.cap
                except (MarError, _Stopped):
                    delay = self.backoff.failure()
                except Exception:  # a bug must not kill background sync silently
                    log.exception("unexpected error in background sync")
                    delay = self.backoff.failure()
                if self._stop.is_set():
                    break
                if delay == self.interval and self.history_pending():
                    delay = HISTORY_PAUSE  # more history to fill in: sync again soon
                self.status.update(next_attempt_in=delay)
                self._wake.wait(delay)
                self._wake.clear()
        finally:
            self.state.close()
            self._creds.close()

    def close(self) -> None:
        """Stops the thread and closes this thread's connections."""
        self.stop()
        self.state.close()
        self._creds.close()


StatusListener = Callable[[SyncStatus], None]
