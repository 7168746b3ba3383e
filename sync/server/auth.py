"""Device authentication state: single-use challenge nonces and short-lived bearer tokens.

Both are kept in the server database (tables ``auth_challenges`` and ``auth_tokens``,
:mod:`sync.server.migrations`), so any ``mar-server serve`` process on the same database takes
a challenge answer or a token another process issued: several processes may run behind a load
balancer. Only the SHA-256 digest of a nonce or token is stored, never the secret itself, and
neither is ever logged. Expiry is judged by the core's clock (wall time, UTC), so every
process must keep its clock in sync (NTP); expired rows are deleted whenever a new challenge or
token is stored. A token names a device only: each request still looks the device up
(:func:`sync.server.app.current_device`), so revoking a device refuses its tokens at once on
every process.

Threads: any request thread; one instance is shared by a process's threads and holds no state
of its own. Raises ``StorageError`` when the database cannot be used.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from mar_desktop.clock import Clock, SystemClock, utc_iso
from sync.server.store import Store


class Authenticator:
    """Issues challenges and tokens; answers which device a token belongs to."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        token_ttl: int = 600,
        nonce_ttl: int = 120,
    ) -> None:
        self._store = store
        self._clock = clock or SystemClock()
        self.token_ttl = token_ttl
        self.nonce_ttl = nonce_ttl

    def _now(self, later: int = 0) -> str:
        return utc_iso(self._clock.now() + timedelta(seconds=later))

    def challenge(self, device_id: str) -> str:
        """A fresh nonce the device must sign within ``nonce_ttl`` seconds, usable once (on
        any process)."""
        nonce = secrets.token_urlsafe(32)
        self._store.add_challenge(_digest(nonce), device_id, self._now(self.nonce_ttl), self._now())
        return nonce

    def take_nonce(self, device_id: str, nonce: str) -> bool:
        """Consumes the nonce; True only if it was issued to this device and has not expired.
        A nonce offered by another device is consumed too (it was disclosed)."""
        return self._store.take_challenge(_digest(nonce), self._now()) == device_id

    def issue_token(self, device_id: str) -> str:
        """A new bearer token of the device, valid ``token_ttl`` seconds on every process."""
        token = secrets.token_urlsafe(32)
        self._store.add_token(_digest(token), device_id, self._now(self.token_ttl), self._now())
        return token

    def device_for(self, token: str) -> str | None:
        """The device the token was issued to, or None if unknown or expired."""
        return self._store.token_device(_digest(token), self._now())

    def forget_device(self, device_id: str) -> None:
        """Drops every token of the device (e.g. when it is revoked)."""
        self._store.forget_tokens(device_id)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
