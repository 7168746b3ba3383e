"""The oldest tablet this server accepts (DESIGN "Versions and rollout").

Each server release states :data:`OLDEST_ACCEPTED_TABLET`; an operator may raise it
(``mar-server serve --oldest-tablet-version`` or ``MAR_OLDEST_TABLET_VERSION``), for instance
once every tablet of the facility is updated, but never lower it below what the release states.
:class:`TabletVersionGate` answers 426 (Upgrade Required) with :class:`sync.protocol.TabletTooOld`
to every ``/v1/`` request whose ``X-MAR-App-Version`` is older, an unreadable one included,
before anything is read or written; a request without the header is taken for
``mar_desktop.versions.UNNAMED_TABLET``. ``/health`` and ``/metrics`` are not versioned.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from mar_desktop.errors import ValidationError
from mar_desktop.versions import older_than, parse_version
from sync import protocol as p

OLDEST_ACCEPTED_TABLET = "0.1.0"
"""This release reads and accepts every entry a 0.1.x tablet writes, and what it writes is safe
for them to hold (newer kinds and body versions stay unapplied there, see docs/architecture.md
"Versions and rollout")."""

_HEADER = p.APP_VERSION_HEADER.lower().encode()


def oldest_tablet(configured: str | None) -> str:
    """The oldest accepted tablet version: ``configured`` when given (it may only raise the
    release's :data:`OLDEST_ACCEPTED_TABLET`). Raises ValidationError for a string that is not a
    version or a version below the release's."""
    if not configured:
        return OLDEST_ACCEPTED_TABLET
    if parse_version(configured) is None:
        raise ValidationError(f"the oldest tablet version {configured!r} is not a version")
    if older_than(configured, OLDEST_ACCEPTED_TABLET):
        raise ValidationError(
            f"the oldest tablet version cannot be below {OLDEST_ACCEPTED_TABLET}, which this "
            "server release states"
        )
    return configured


class TabletVersionGate:
    """See the module docstring. Pure ASGI; ``oldest`` already checked by :func:`oldest_tablet`."""

    def __init__(self, app: ASGIApp, oldest: str) -> None:
        self.app = app
        self.oldest = oldest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        named: str | None = None
        for name, value in scope.get("headers", []):
            if name == _HEADER:
                named = value.decode("latin-1")
                break
        if not older_than(named, self.oldest):
            await self.app(scope, receive, send)
            return
        answer = p.TabletTooOld(
            detail=(
                f"this tablet's app is older than the server accepts ({self.oldest} or newer): "
                "update it"
            ),
            oldest_accepted=self.oldest,
        )
        body = json.dumps(answer.model_dump()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 426,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"upgrade", b"mar-desktop"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
