"""Time sources. Services take a :class:`Clock` so rules can be tested with a fake one."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Gives the current UTC time and a monotonic reading (seconds) for timeouts."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock. Thread-safe."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class ServerCorrectedClock:
    """The device's clock, corrected by the server's once a sync found it off (clock truth).

    Until :meth:`correct` is given an offset this is the device clock. Given one (this
    device's clock minus the server's, measured at a sync and beyond the facility's limit),
    :meth:`now` is the server's time then plus the MONOTONIC time since: due windows, PRN
    intervals, TOTP checks and every entry's times follow the server's clock, and a later change
    of the device's wall clock (IT fixing it) cannot shift the corrected time by the old offset
    again. ``correct(None)`` (the next sync found the clock right) returns to the device clock.
    The correction lives in memory: after a restart the next sync measures again. The sync
    engine measures with :meth:`device_now`, never with the corrected time. Thread-safe."""

    def __init__(self, device: Clock) -> None:
        self._device = device
        self._lock = threading.Lock()
        self._anchor: tuple[datetime, float] | None = None  # (server time, monotonic then)

    def now(self) -> datetime:
        with self._lock:
            anchor = self._anchor
        if anchor is None:
            return self._device.now()
        server_then, mono_then = anchor
        return server_then + timedelta(seconds=self._device.monotonic() - mono_then)

    def monotonic(self) -> float:
        return self._device.monotonic()

    def device_now(self) -> datetime:
        """The device's own wall clock, uncorrected (what a clock comparison must send)."""
        return self._device.now()

    @property
    def offset_seconds(self) -> float | None:
        """The device clock minus the corrected time now, or None when not correcting."""
        with self._lock:
            corrected = self._anchor is not None
        return (self.device_now() - self.now()).total_seconds() if corrected else None

    def correct(self, offset_seconds: float | None) -> None:
        """From now on count from the server's time (``device_now() - offset``), or with
        None from the device clock again. Sync thread."""
        anchor = None
        if offset_seconds is not None:
            server_now = self._device.now() - timedelta(seconds=offset_seconds)
            anchor = (server_now, self._device.monotonic())
        with self._lock:
            self._anchor = anchor


class FakeClock:
    """A clock that moves only when told to; for tests and benchmarks."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, delta: timedelta | float) -> None:
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        self._now += timedelta(seconds=seconds)
        self._mono += seconds

    def set(self, when: datetime) -> None:
        self._mono += (when - self._now).total_seconds()
        self._now = when


def utc_iso(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and a ``Z``: the one time format of the ledger."""
    zone = moment.tzinfo
    if zone is None:
        raise ValueError("naive datetime: the ledger needs an aware UTC time")
    if zone is not UTC:  # most times are UTC already (the clock's, the parsed ledger's)
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_utc(text: str) -> datetime:
    """Parses :func:`utc_iso` output (and any RFC 3339 time with an offset) to aware UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time without zone: {text!r}")
    return moment.astimezone(UTC)
