"""The one exception hierarchy of MAR Desktop.

Every error the project raises on purpose derives from :class:`MarError`. Messages are meant for
the person at the screen: they never contain PHI, keys, passwords or TOTP codes. The UI turns
these into dialogs in exactly one place; the command line turns them into an exit status.
"""

from __future__ import annotations


class MarError(Exception):
    """Root of every deliberate error. ``str(err)`` is a message safe to show and to log."""

    exit_code = 1


# --- input and rules -------------------------------------------------------------------------
class ValidationError(MarError):
    """Input is malformed or incomplete; nothing was written."""

    exit_code = 2


class RuleViolation(MarError):
    """A clinical rule refuses the action as asked (e.g. PRN interval not yet elapsed).
    ``field`` names the input the nurse must change, when one does (e.g. ``"dose"``)."""

    def __init__(self, message: str, *, code: str = "rule", field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


class NotFound(MarError):
    """The referenced resident, order, user or entry does not exist (or is not visible)."""


class Conflict(MarError):
    """The action contradicts current state (e.g. a second admission of the same resident)."""


# --- people ----------------------------------------------------------------------------------
class AuthError(MarError):
    """Authentication failed. Messages never say which factor was wrong beyond what is safe."""

    exit_code = 3


class AccountLocked(AuthError):
    """Too many failures; the account is locked on this device."""


class Throttled(AuthError):
    """Too many recent failures; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SessionExpired(AuthError):
    """The session is locked, ended or needs re-authentication."""


class OfflineLimitReached(AuthError):
    """This tablet may not show PHI now: it has not reached its server for longer than the
    facility allows (``break_glass``: an emergency sign-in with a reason is possible), or it
    was revoked (no break-glass)."""

    def __init__(self, message: str, *, break_glass: bool, challenge: object = None) -> None:
        super().__init__(message)
        self.break_glass = break_glass
        self.challenge = challenge
        """The sign-in challenge to pass to ``AuthService.break_glass`` (when possible)."""


class HistoryNotHeld(ValidationError):
    """A print or export asked for a window this tablet does not hold the whole history of
    (it started from the server's snapshot and is still fetching it, or the window is older
    than the history it keeps); nothing was printed or exported."""


class PermissionDenied(MarError):
    """The signed-in user's role or unit scope does not allow the action; nothing changed."""

    exit_code = 4


class CredentialRefused(PermissionDenied):
    """An account record does not verify as authorised (wrong or missing signature, a version
    that does not follow, a change touching what its signer may not); nothing was stored."""


class PasswordRejected(ValidationError):
    """A new password does not meet the policy; ``reasons`` lists why, in plain words."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("Password not accepted: " + "; ".join(reasons))
        self.reasons = reasons


# --- integrity and storage -------------------------------------------------------------------
class IntegrityError(MarError):
    """Ledger or audit data fails signature, chain or sequence checks."""

    exit_code = 5


class StorageError(MarError):
    """The local database could not be used. The file on disk was left as it was."""

    exit_code = 6


class DatabaseMissing(StorageError):
    """There is no database in the data folder yet (and creating one was not asked for)."""


class KeyMissing(StorageError):
    """The database exists but its key is not in the key store."""


class WrongKey(StorageError):
    """The key in the key store does not open this database."""


class NotADatabase(StorageError):
    """The file is not an MAR Desktop database (or is damaged beyond opening)."""


class DiskFull(StorageError):
    """The disk is full; the last action was not saved."""


class ReadOnlyStorage(StorageError):
    """The database file or its folder is read-only; nothing can be saved."""


class InsecureKeystore(StorageError):
    """The key store backend would not protect the key; refused unless insecure mode is chosen."""


class SchemaTooNew(StorageError):
    """The database was written by a newer version of MAR Desktop."""


# --- sync ------------------------------------------------------------------------------------
class SyncError(MarError):
    """Talking to the facility server failed; entries stay queued and are retried."""

    exit_code = 7


class TransportRefused(SyncError):
    """The connection was refused for security reasons (plain HTTP, TLS < 1.3, pin mismatch)."""


class TabletUpdateRequired(SyncError):
    """The server refused this tablet's app version (HTTP 426): it accepts ``oldest`` or newer
    (:mod:`mar_desktop.versions`)."""

    def __init__(self, message: str, oldest: str) -> None:
        super().__init__(message)
        self.oldest = oldest


class DeviceRevoked(SyncError):
    """The server has revoked this device; it can no longer sync. ``revocation``: the signed
    ``device.revoked`` entry the server sent with the refusal (raw bytes; not yet checked), or
    None when it sent none."""

    def __init__(self, message: str, revocation: bytes | None = None) -> None:
        super().__init__(message)
        self.revocation = revocation


class ForkDetected(SyncError):
    """The server holds different bytes for one of this device's sequence numbers."""
