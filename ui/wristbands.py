"""How long a wristband scan confirms a resident's identity (``docs/architecture.md``, the
clinical defaults): for that resident's doses in the next 10 minutes, until another resident is
opened, or until sign-out. After a lock it survives only if the same user unlocks within 5
minutes. Times come from the app's clock, so a fake clock drives it in tests.

GUI thread only (the screens ask it as they render); in memory only, never written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mar_desktop.clock import Clock

VALID_FOR = timedelta(minutes=10)
LOCK_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class WristbandScan:
    resident_id: str
    scan: str
    scanned_at: datetime


class WristbandMemory:
    """The one wristband scan in force (at most one resident at a time)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._scan: WristbandScan | None = None
        self._locked_at: datetime | None = None

    def remember(self, resident_id: str, scan: str) -> None:
        """A wristband scan that matched ``resident_id``, now; it replaces any other."""
        self._scan = WristbandScan(resident_id, scan, self._clock.now())

    def valid_for(self, resident_id: str) -> str:
        """The scan still confirming ``resident_id`` now, or "" (none, another resident's,
        or older than :data:`VALID_FOR`, which is then forgotten)."""
        scan = self._scan
        if scan is None or scan.resident_id != resident_id:
            return ""
        if self._clock.now() - scan.scanned_at > VALID_FOR:
            self._scan = None
            return ""
        return scan.scan

    def resident_opened(self, resident_id: str) -> None:
        """Another resident's MAR opened: a scan for anyone else is forgotten."""
        if self._scan is not None and self._scan.resident_id != resident_id:
            self._scan = None

    def locked(self) -> None:
        """The session locked now (the first lock counts if it locks again while locked)."""
        if self._locked_at is None:
            self._locked_at = self._clock.now()

    def unlocked(self) -> None:
        """The same user unlocked: the scan is forgotten if the lock lasted over
        :data:`LOCK_GRACE`."""
        locked_at, self._locked_at = self._locked_at, None
        if locked_at is not None and self._clock.now() - locked_at > LOCK_GRACE:
            self._scan = None

    def forget(self) -> None:
        """Sign-out, or another user: nothing is kept."""
        self._scan = None
        self._locked_at = None
