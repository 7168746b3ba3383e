"""Which app versions may still work together (DESIGN "Versions and rollout").

The server upgrades first; each server release states the oldest tablet version it still
accepts (``sync.server.tablet_version.OLDEST_ACCEPTED_TABLET``, which an operator may raise, never
lower). A tablet names its version on every request; one below the oldest accepted is refused,
and it then refuses clinical use (no patient data shown) with a plain message until the app is
updated. Pure functions on version strings (PEP 440, as the package's own version is written).
"""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from mar_desktop import __version__

UNNAMED_TABLET = "0.1.0"
"""The version a request without a version header is taken for: the releases before tablets
named theirs (0.1.x)."""


def parse_version(text: str) -> Version | None:
    """``text`` as a version, or None when it is not one (or longer than any real version)."""
    if not text or len(text) > 40:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def older_than(version: str | None, oldest: str) -> bool:
    """True if an app naming ``version`` (None: it named none, so :data:`UNNAMED_TABLET`) is
    older than ``oldest``. A version that cannot be read counts as older (when unsure, refuse).
    Raises ValueError if ``oldest`` itself is not a version (a configuration error)."""
    floor = parse_version(oldest)
    if floor is None:
        raise ValueError(f"not a version: {oldest!r}")
    named = parse_version(UNNAMED_TABLET if version is None else version)
    return named is None or named < floor


def this_app_older_than(oldest: str) -> bool:
    """True if this running app is older than ``oldest`` (an unreadable ``oldest`` counts as
    newer than any app: the most restrictive reading)."""
    try:
        return older_than(__version__, oldest)
    except ValueError:
        return True


def update_message(oldest: str) -> str:
    """What the tablet and its refusal say (no PHI)."""
    return (
        f"This tablet runs MAR Desktop {__version__}; the facility's server accepts {oldest} "
        "or newer. Update the app before using this tablet for medication: until then it shows "
        "no patient data, and nothing recorded on it could be sent."
    )
