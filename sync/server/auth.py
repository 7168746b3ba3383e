"""Device authentication state: single-use challenge nonces and short-lived bearer tokens.

Both live in this process's memory only (never in the database, never logged): a restart
simply makes devices authenticate again. Tokens are kept as SHA-256 digests, so a memory dump
of the table does not yield usable tokens. Thread-safe: request threads share one instance.
Run ``mar-server serve`` as ONE process (the default); several workers would not share tokens.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass

from mar_desktop.clock import Clock, SystemClock


@dataclass(frozen=True, slots=True)
class _Grant:
    device_id: str
    expires: float


class Authenticator:
    """Issues challenges and tokens; answers which device a token belongs to."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        token_ttl: int = 600,
        nonce_ttl: int = 120,
        max_pending: int = 50_000,
    ) -> None:
        self._clock = clock or SystemClock()
        self.token_ttl = token_ttl
        self.nonce_ttl = nonce_ttl
        self._max_pending = max_pending
        self._nonces: dict[str, _Grant] = {}
        self._tokens: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    def _purge(self, table: dict[str, _Grant], now: float) -> None:
        if len(table) >= self._max_pending:
            for key in [k for k, g in table.items() if g.expires <= now]:
                del table[key]
            while len(table) >= self._max_pending:  # still full: drop the oldest
                del table[next(iter(table))]

    def challenge(self, device_id: str) -> str:
        """A fresh nonce the device must sign within ``nonce_ttl`` seconds, usable once."""
        nonce = secrets.token_urlsafe(32)
        now = self._clock.monotonic()
        with self._lock:
            self._purge(self._nonces, now)
            self._nonces[nonce] = _Grant(device_id, now + self.nonce_ttl)
        return nonce

    def take_nonce(self, device_id: str, nonce: str) -> bool:
        """Consumes the nonce; True only if it was issued to this device and has not expired."""
        with self._lock:
            grant = self._nonces.pop(nonce, None)
        return (
            grant is not None
            and grant.device_id == device_id
            and grant.expires > self._clock.monotonic()
        )

    def issue_token(self, device_id: str) -> str:
        token = secrets.token_urlsafe(32)
        now = self._clock.monotonic()
        with self._lock:
            self._purge(self._tokens, now)
            self._tokens[_digest(token)] = _Grant(device_id, now + self.token_ttl)
        return token

    def device_for(self, token: str) -> str | None:
        """The device the token was issued to, or None if unknown or expired."""
        key = _digest(token)
        with self._lock:
            grant = self._tokens.get(key)
            if grant is not None and grant.expires <= self._clock.monotonic():
                del self._tokens[key]
                grant = None
        return None if grant is None else grant.device_id

    def forget_device(self, device_id: str) -> None:
        """Drops every token of the device (e.g. when it is revoked)."""
        with self._lock:
            for key in [k for k, g in self._tokens.items() if g.device_id == device_id]:
                del self._tokens[key]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
