"""The HTTP API of ``mar-server`` (FastAPI); the protocol is documented in :mod:`sync.protocol`.

Every endpoint but ``/health``, ``/v1/enroll`` and ``/v1/auth/*`` needs a bearer token; the
device it names is looked up on every request (a revoked device is refused at once, 403
``device revoked`` with the signed ``device.revoked`` entry as ``revocation``; a *retiring*
one may still read its cursor, push, relay, put credentials and confirm its retirement) and
every query is scoped by THAT device's facility, never by a request field. What a device did,
and from which address, goes to the server audit (:mod:`sync.server.audit`).
Handlers are plain functions: FastAPI runs them on its worker threads, where blocking
database calls are fine. Expected failures are 4xx with a ``detail`` reason; an unusable
database is 503 (retry later).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.background import BackgroundTask

from mar_desktop import kinds
from mar_desktop.bounds import PRINTABLE_ASCII
from mar_desktop.chain import check_signature
from mar_desktop.clock import parse_utc, utc_iso
from mar_desktop.envelope import parse_raw
from mar_desktop.errors import (
    AuthError,
    Conflict,
    MarError,
    NotFound,
    PermissionDenied,
    StorageError,
    ValidationError,
)
from mar_desktop.people.statements import parse_record, record_version
from mar_desktop.signing import load_public_key, signature_valid
from mar_desktop.versions import UNNAMED_TABLET, parse_version
from sync import protocol as p
from sync.server import audit as server_audit
from sync.server import ingest, relay, snapshot
from sync.server.auth import Authenticator
from sync.server.checker import Verifier
from sync.server.core import ServerCore
from sync.server.health import install as install_health
from sync.server.metrics import install as install_metrics
from sync.server.middleware import BodyLimit, SecurityHeaders
from sync.server.reconcile_live import LiveReconciliation
from sync.server.reconciliation import Reconciler
from sync.server.store import CredentialRow, DeviceRecord, StoredEntry
from sync.server.tablet_version import OLDEST_ACCEPTED_TABLET, TabletVersionGate

log = logging.getLogger(__name__)
_FEED_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

MAX_BODY = 4 * 1024 * 1024
_BIG = 2**62
_bearer = HTTPBearer(auto_error=False, description="Token from POST /v1/auth/token")
UserId = Annotated[str, Path(min_length=1, max_length=64, pattern=PRINTABLE_ASCII)]
After = Annotated[int, Query(ge=0, le=_BIG)]
Limit = Annotated[int, Query(ge=1, le=p.MAX_PAGE)]


class _Refused(Exception):
    def __init__(self, status: int, detail: str, revocation: bytes | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.revocation = revocation


def _revoked(request: Request, record: DeviceRecord, *, retiring: bool = False) -> _Refused:
    """403 ``device revoked`` carrying the signed revocation entry; the contact is audited."""
    core: ServerCore = request.app.state.core
    what = "retiring: push what it holds, then confirm" if retiring else "refused"
    core.store.add_audit(
        server_audit.row(
            core.clock,
            server_audit.REVOKED_CONTACT,
            address=server_audit.client_address(request),
            device=record,
            detail=f"{request.method} {request.url.path}: {what}",
        )
    )
    detail = "device revoked (retiring)" if retiring else "device revoked"
    return _Refused(403, detail, core.revocation_entry(record))


def _authenticated(request: Request, creds: HTTPAuthorizationCredentials | None) -> DeviceRecord:
    core: ServerCore = request.app.state.core
    auth: Authenticator = request.app.state.auth
    if creds is None or creds.scheme.lower() != "bearer":
        raise _Refused(401, "missing bearer token: authenticate first")
    device_id = auth.device_for(creds.credentials)
    record = None if device_id is None else core.store.get_device(device_id)
    if record is None:
        raise _Refused(401, "token unknown or expired: authenticate again")
    if record.refused:
        raise _revoked(request, record)
    return record


def current_device(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> DeviceRecord:
    """The authenticated device (its facility scopes every query). 401/403 otherwise; a
    retiring device is refused here too (it reads nothing more)."""
    record = _authenticated(request, creds)
    if record.retiring:
        raise _revoked(request, record, retiring=True)
    return record


def sending_device(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> DeviceRecord:
    """:func:`current_device` for what a retiring tablet may still do: hand over what it holds."""
    return _authenticated(request, creds)


Device = Annotated[DeviceRecord, Depends(current_device)]
Sender = Annotated[DeviceRecord, Depends(sending_device)]

_STATUS = {
    AuthError: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    ValidationError: 422,
    StorageError: 503,
}


def _client_time(value: str | None) -> datetime | None:
    """The tablet's clock from its header, or None when absent or not a UTC time."""
    if not value or len(value) > 40:
        return None
    try:
        return parse_utc(value)
    except ValueError:
        return None


def create_app(
    core: ServerCore,
    *,
    verifier: Verifier | None = None,
    auth: Authenticator | None = None,
    max_body: int = MAX_BODY,
    behind_proxy: bool = False,
    oldest_tablet: str = OLDEST_ACCEPTED_TABLET,
) -> FastAPI:
    """The ASGI application. ``verifier`` defaults to 2 checking threads, owned by the app and
    shut down with it (lifespan shutdown); a verifier passed in stays the caller's to close.
    ``behind_proxy``: served behind a trusted load balancer, so ``/metrics`` always needs its
    token. ``oldest_tablet``: the oldest tablet app version answered (older ones get 426; see
    :mod:`sync.server.tablet_version`)."""
    owned = verifier is None
    verifier = verifier or Verifier("threads", 2)
    auth = auth or Authenticator(core.store, clock=core.clock)
    app = FastAPI(
        title="MAR Desktop sync server",
        version=str(p.PROTOCOL_VERSION),
        description=(p.__doc__ or "").strip(),
        docs_url=None,
        redoc_url=None,
    )
    app.state.core, app.state.verifier, app.state.auth = core, verifier, auth
    if owned:
        app.router.on_shutdown.append(verifier.close)
    reconciler = app.state.reconciler = Reconciler(core)  # clinical alerts (reconciliation.py)
    # ... run after each push's receipt is sent; reads of alerts and server entries wait for it
    live = app.state.live_reconciliation = LiveReconciliation(reconciler)

    @app.exception_handler(_Refused)
    async def _refused(_: Request, exc: _Refused) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        body: dict[str, str] = {"detail": exc.detail}
        if exc.revocation is not None:
            body["revocation"] = exc.revocation.decode("utf-8")
        return JSONResponse(body, status_code=exc.status, headers=headers)

    def audit(request: Request, action: str, device: DeviceRecord, detail: str = "") -> None:
        core.store.add_audit(
            server_audit.row(
                core.clock,
                action,
                address=server_audit.client_address(request),
                device=device,
                detail=detail,
            )
        )

    @app.exception_handler(MarError)
    async def _mar_error(_: Request, exc: MarError) -> JSONResponse:
        status = next((s for t, s in _STATUS.items() if isinstance(exc, t)), 400)
        detail = str(exc) if status != 503 else "server storage unavailable; retry later"
        return JSONResponse({"detail": detail}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"detail": "malformed JSON body"}, status_code=400)
        first = errors[0] if errors else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        detail = f"invalid request: {where}: {first.get('msg', 'invalid')}"
        return JSONResponse({"detail": detail}, status_code=422)

    # operations hook: /health with a database probe (sync/server/health.py)
    install_health(app, core)

    @app.post(
        "/v1/enroll",
        response_model=p.EnrollResponse,
        tags=["enrolment"],
        responses={401: {"description": "code not valid, used or expired"}},
    )
    def enroll(req: p.EnrollRequest, request: Request) -> p.EnrollResponse:
        try:
            load_public_key(req.public_key)
        except ValueError:
            raise _Refused(422, "public_key is not an Ed25519 public key") from None
        address = server_audit.client_address(request)
        try:
            done = core.enroll(req.code, req.public_key, req.label)
        except AuthError as exc:
            core.store.add_audit(
                server_audit.row(
                    core.clock, server_audit.ENROL_REFUSED, address=address, detail=str(exc)
                )
            )
            raise
        core.store.add_audit(
            server_audit.row(
                core.clock,
                server_audit.ENROLLED,
                address=address,
                facility_id=done.facility_id,
                device_id=done.device_id,
                detail=f"label: {req.label}",
            )
        )
        server = core.store.server_device(done.facility_id)
        assert server is not None
        return p.EnrollResponse(
            device_id=done.device_id,
            facility_id=done.facility_id,
            server_id=core.server_id,
            server_device_id=server.device_id,
            server_public_key=core.public_key,
        )

    @app.post("/v1/auth/challenge", response_model=p.ChallengeResponse, tags=["auth"])
    def challenge(req: p.ChallengeRequest, request: Request) -> p.ChallengeResponse:
        record = core.store.get_device(req.device_id)
        if record is None or record.is_server:
            raise _Refused(401, "unknown device: enrol it first")
        if record.refused:
            raise _revoked(request, record)
        return p.ChallengeResponse(
            nonce=auth.challenge(req.device_id),
            server_id=core.server_id,
            expires_in=auth.nonce_ttl,
        )

    @app.post("/v1/auth/token", response_model=p.TokenResponse, tags=["auth"])
    def token(req: p.TokenRequest, request: Request) -> p.TokenResponse:
        record = core.store.get_device(req.device_id)
        if record is None or record.is_server:
            raise _Refused(401, "unknown device: enrol it first")
        if record.refused:
            raise _revoked(request, record)
        why = None
        if not auth.take_nonce(req.device_id, req.nonce):
            why = "challenge unknown, expired or already used: ask for a new one"
        elif not signature_valid(
            load_public_key(record.public_key),
            bytes.fromhex(req.signature),
            p.auth_message(core.server_id, req.device_id, req.nonce),
        ):
            why = "challenge signature does not verify with the device key"
        if why is not None:
            audit(request, server_audit.SIGN_IN_REFUSED, record, why)
            raise _Refused(401, why)
        audit(request, server_audit.SIGNED_IN, record, _signed_in_detail(request, record))
        return p.TokenResponse(token=auth.issue_token(record.device_id), expires_in=auth.token_ttl)

    @app.get("/v1/cursor", response_model=p.CursorResponse, tags=["push"])
    def cursor(me: Sender, request: Request, response: Response) -> p.CursorResponse:
        live.settle(me.facility_id)  # the server head includes this device's pushes' alerts
        heads = core.store.heads(me.device_id)
        response.headers[p.SERVER_TIME_HEADER] = utc_iso(core.clock.now())
        device_time = _client_time(request.headers.get(p.CLIENT_TIME_HEADER))
        if device_time is not None:
            reconciler.judge_device_clock(me.facility_id, me.device_id, device_time, None)
        server = core.store.server_device(me.facility_id)
        own = None if server is None else core.store.heads(server.device_id)["ledger"]
        return p.CursorResponse(
            device_id=me.device_id,
            ledger=p.ChainHead(seq=heads["ledger"].seq, digest=heads["ledger"].digest),
            audit=p.ChainHead(seq=heads["audit"].seq, digest=heads["audit"].digest),
            server=None if own is None else p.ChainHead(seq=own.seq, digest=own.digest),
        )

    @app.post(
        "/v1/relay",
        response_model=p.RelayResult,
        tags=["push"],
        responses={409: {"description": "the server holds different entries of its own there"}},
    )
    def relay_own(req: p.PushRequest, me: Sender, request: Request) -> p.RelayResult:
        raws: list[bytes] = []
        for index, text in enumerate(req.entries):
            try:
                raws.append(p.decode_entry(text))
            except ValueError as exc:
                raise _Refused(422, f"entries[{index}]: {exc}") from None
        result = relay.relay(core, me.facility_id, raws)
        if result.stored:
            audit(request, server_audit.RELAYED, me, f"server entries stored: {result.stored}")
        return result

    @app.post(
        "/v1/push",
        response_model=p.Receipt,
        tags=["push"],
        responses={
            409: {"model": p.Receipt, "description": "a fork was refused (and alerted)"},
            422: {"description": "entries refused (Receipt with rejections) or invalid request"},
        },
    )
    def push(req: p.PushRequest, me: Sender, request: Request) -> JSONResponse:
        raws: list[bytes] = []
        for index, text in enumerate(req.entries):
            try:
                raws.append(p.decode_entry(text))
            except ValueError as exc:
                raise _Refused(422, f"entries[{index}]: {exc}") from None
        outcome = ingest.push(core, verifier, me, raws)
        receipt = outcome.receipt
        audit(
            request,
            server_audit.PUSHED,
            me,
            f"offered {len(raws)}, stored {receipt.stored}, duplicates {receipt.duplicates}, "
            f"refused {len(receipt.rejections)}; heads ledger {receipt.heads.get('ledger')} "
            f"audit {receipt.heads.get('audit')}",
        )
        after = None
        if outcome.stored:  # clinical reconciliation, once the receipt is sent (reconcile_live)
            ticket = live.begin(me.facility_id, core.clock.now(), outcome.doses)
            after = BackgroundTask(live.run, me.facility_id, ticket)
        body = outcome.receipt.model_dump(mode="json")
        return JSONResponse(body, status_code=outcome.status, background=after)

    def page(entries: list[StoredEntry], after: int, limit: int) -> Response:
        # A p.FeedPage, serialised directly: building up to MAX_PAGE models and validating
        # them again as the response model cost more than reading the rows (new tablets read
        # a year of feed). The schema (response_model) is unchanged.
        body = {
            "items": [{"pos": e.pos, "entry": e.raw.decode("utf-8")} for e in entries],
            "next": entries[-1].pos if entries else after,
            "more": len(entries) == limit,
        }
        return Response(_FEED_JSON(body).encode("utf-8"), media_type="application/json")

    @app.get("/v1/feed", response_model=p.FeedPage, tags=["pull"])
    def feed(me: Device, request: Request, after: After = 0, limit: Limit = 500) -> Response:
        live.settle(me.facility_id)
        entries = core.store.feed(me.facility_id, "ledger", after, limit)
        if entries:
            audit(request, server_audit.PULLED, me, _span(entries))
        return page(entries, after, limit)

    @app.get("/v1/audit/feed", response_model=p.FeedPage, tags=["pull"])
    def audit_feed(me: Device, request: Request, after: After = 0, limit: Limit = 500) -> Response:
        entries = core.store.feed(me.facility_id, "audit", after, limit)
        if entries:
            audit(request, server_audit.AUDIT_PULLED, me, _span(entries))
        return page(entries, after, limit)

    @app.get("/v1/snapshot", response_model=p.Snapshot, tags=["pull"])
    def current_snapshot(me: Device) -> Response:
        live.settle(me.facility_id)  # the snapshot includes the alerts of pushes answered
        made = snapshot.build_snapshot(core, me.facility_id)
        return Response(made.model_dump_json().encode("utf-8"), media_type="application/json")

    @app.get("/v1/history", response_model=p.FeedPage, tags=["pull"])
    def history(me: Device, before: After = _BIG, limit: Limit = 500) -> Response:
        return page(core.store.feed_before(me.facility_id, "ledger", before, limit), before, limit)

    @app.post("/v1/snapshot/mismatch", status_code=204, tags=["pull"])
    def snapshot_mismatch(req: p.SnapshotMismatch, me: Device) -> Response:
        snapshot.raise_mismatch(core, me.facility_id, me.device_id, req)
        return Response(status_code=204)

    @app.get("/v1/devices", response_model=p.DevicesResponse, tags=["pull"])
    def devices(me: Device) -> p.DevicesResponse:
        return p.DevicesResponse(
            facility_id=me.facility_id,
            devices=[
                p.DeviceInfo(
                    device_id=d.device_id,
                    public_key=d.public_key,
                    label=d.label,
                    is_server=d.is_server,
                    enrolled_at=d.enrolled_at,
                    revoked=d.revoked,
                    revoked_at=d.revoked_at,
                )
                for d in core.store.devices(me.facility_id)
            ],
        )

    @app.get("/v1/alerts", response_model=p.AlertsResponse, tags=["pull"])
    def alerts(me: Device) -> p.AlertsResponse:
        live.settle(me.facility_id)
        return p.AlertsResponse(alerts=alert_infos(core, me.facility_id))

    @app.put("/v1/credentials/{user_id}", response_model=p.CredentialStored, tags=["people"])
    def put_credential(
        user_id: UserId, req: p.CredentialPut, me: Sender, request: Request
    ) -> p.CredentialStored:
        what = f"user {user_id} version {req.version}"
        try:
            row, created = core.put_credential(
                me.facility_id, user_id, req.version, req.record, me.device_id
            )
        except MarError as exc:
            audit(request, server_audit.CREDENTIAL_REFUSED, me, f"{what}: {exc}")
            raise
        if created:
            audit(request, server_audit.CREDENTIAL_STORED, me, what)
        return p.CredentialStored(
            user_id=user_id, version=row.version, pos=row.pos, created=created
        )

    @app.post("/v1/credentials/refused", status_code=204, tags=["people"])
    def credential_refused(req: p.CredentialRefusedReport, me: Device) -> None:
        core.credential_refused_by_tablet(me.facility_id, me.device_id, req)

    @app.get("/v1/credentials", response_model=p.CredentialPage, tags=["people"])
    def credentials(
        me: Device, request: Request, after: After = 0, limit: Limit = 500
    ) -> p.CredentialPage:
        rows = core.store.credentials(me.facility_id, after, limit)
        if rows:
            where = f"positions {rows[0].pos}-{rows[-1].pos}, {len(rows)} records"
            audit(request, server_audit.CREDENTIALS_PULLED, me, where)
        return p.CredentialPage(
            items=credential_items(me.facility_id, rows),
            next=rows[-1].pos if rows else after,
            more=len(rows) == limit,
        )

    @app.post(
        "/v1/retire",
        response_model=p.RetireResult,
        tags=["push"],
        responses={409: {"description": "the server does not hold everything yet, or the "
                                        "device is not retiring"}},
    )
    def retire(req: p.RetireRequest, me: Sender, request: Request) -> p.RetireResult:
        at = core.confirm_retired(
            me, req.ledger, req.audit, server_audit.client_address(request)
        )
        return p.RetireResult(device_id=me.device_id, retired_at=at)

    # operations hook: /metrics and its counting middleware, outermost (sync/server/metrics.py)
    return install_metrics(
        _wrap(app, max_body, oldest_tablet), core, behind_proxy=behind_proxy
    )


def _wrap(app: FastAPI, max_body: int, oldest_tablet: str) -> FastAPI:
    app.add_middleware(TabletVersionGate, oldest=oldest_tablet)
    app.add_middleware(BodyLimit, max_bytes=max_body)
    app.add_middleware(SecurityHeaders)
    return app


def _signed_in_detail(request: Request, record: DeviceRecord) -> str:
    """``app <version>`` as the tablet named it (the version gate let only a readable one or
    none through), and ``retiring`` for a retiring device: the operator reads with
    ``mar-server audit`` which app each tablet runs before raising the oldest accepted."""
    named = request.headers.get(p.APP_VERSION_HEADER)
    version = named if named and parse_version(named) is not None else UNNAMED_TABLET
    return f"app {version}" + ("; retiring" if record.retiring else "")


def _span(entries: Sequence[StoredEntry]) -> str:
    return f"positions {entries[0].pos}-{entries[-1].pos}, {len(entries)} entries"


def credential_items(facility_id: str, rows: Sequence[CredentialRow]) -> list[p.CredentialItem]:
    """The rows whose record has a known shape and names the row's user and version.

    Any other row (stored before the record shapes were closed) is left out with a warning
    naming its facility, position and what is wrong, never a value: one bad row must not
    stop every device's credential sync."""
    items: list[p.CredentialItem] = []
    for row in rows:
        try:
            record = parse_record(row.record_json)
        except ValidationError as exc:
            why = str(exc)
        else:
            version = record_version(record)
            if record.user_id == row.user_id and version == row.version:
                items.append(
                    p.CredentialItem(
                        pos=row.pos,
                        user_id=row.user_id,
                        version=row.version,
                        record=json.loads(row.record_json),
                        stored_at=row.stored_at,
                    )
                )
                continue
            why = "the record names another user or version than its row"
        log.warning(
            "credential row %d of facility %s left out of the credential feed: %s",
            row.pos,
            facility_id,
            why,
        )
    return items


def alert_infos(core: ServerCore, facility_id: str) -> list[p.AlertInfo]:
    """The facility's ``alert.raised`` entries by the server device, checked and decoded."""
    server = core.store.server_device(facility_id)
    if server is None:
        return []
    key = load_public_key(server.public_key)
    out: list[p.AlertInfo] = []
    for stored in core.store.entries_of_kind(facility_id, server.device_id, kinds.ALERT_RAISED):
        if not check_signature(stored.raw, key):
            continue  # ``verify`` names it; an unverifiable alert is not shown as genuine
        entry = parse_raw(stored.raw)
        body = kinds.AlertRaised.model_validate(entry.body)
        out.append(
            p.AlertInfo(
                pos=stored.pos,
                alert_id=body.alert_id,
                alert_type=body.alert_type,
                device_id=body.device_id,
                detail=body.detail,
                recorded_at=entry.recorded_at,
                entry=stored.raw.decode("utf-8"),
            )
        )
    return out
