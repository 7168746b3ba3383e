"""HTTPS transport to the facility server: TLS 1.3 minimum, verification always on, SPKI pin.

Contract:

- Only ``https://`` URLs; anything else raises :class:`TransportRefused` before a socket opens.
- The TLS context is built here, never from the environment: ``minimum_version = TLSv1_3``,
  ``CERT_REQUIRED`` with host-name checking, trust = the system store, or ONLY the private CA
  given at enrolment (``ca_pem``); the system store is read from OpenSSL's built-in paths,
  so ``SSL_CERT_FILE``/``SSL_CERT_DIR`` cannot add trust. ``httpx`` runs with
  ``trust_env=False``, so ``REQUESTS_CA_BUNDLE``, ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` and
  ``SSLKEYLOGFILE`` change nothing (the context's ``keylog_filename`` is cleared explicitly).
- An optional pin (SHA-256 hex of the server certificate's SubjectPublicKeyInfo) is checked
  right after each TLS handshake, inside ``wrap_socket``, before a single HTTP byte is written;
  a mismatch closes the socket and the request fails with :class:`TransportRefused`.
- A TLS 1.2-only server often just closes a TLS 1.3-only hello; after an EOF in the handshake
  one probe (:func:`offers_old_tls_only`, no HTTP byte sent) tells that refusal apart from a
  connection broken by the network (offline, retried).
- :class:`ServerClient` methods raise :class:`TransportRefused` (TLS/pin/plain HTTP),
  :class:`DeviceRevoked` (403 ``device revoked``), :class:`TabletUpdateRequired` (426: this
  app is older than the server accepts; every request names the app's version), ``SyncError`` for
  everything else (network down, timeouts, 5xx, unreadable answers), with plain-words messages
  that never include a token, a key or an entry. The bearer token lives in this object only.
- One :class:`ServerClient` per thread (httpx clients are thread-safe, but the token is not
  meant to be shared); :meth:`ServerClient.close` may be called from any thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import ssl
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from mar_desktop import __version__
from mar_desktop.clock import parse_utc, utc_iso
from mar_desktop.errors import DeviceRevoked, SyncError, TabletUpdateRequired, TransportRefused
from mar_desktop.signing import DeviceSigner
from mar_desktop.versions import update_message
from sync import protocol as p

M = TypeVar("M", bound=BaseModel)
PIN_MISMATCH = "certificate public key does not match the pinned key"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def spki_sha256(der_cert: bytes) -> str:
    """SHA-256 (hex) of a DER certificate's SubjectPublicKeyInfo: the pin format."""
    cert = x509.load_der_x509_certificate(der_cert)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def normalise_pin(pin: str | None) -> str | None:
    """Accepts hex (any case, ``:`` separators allowed) or ``sha256/<base64>``; returns hex."""
    if pin is None or not pin.strip():
        return None
    text = pin.strip()
    if text.lower().startswith("sha256/"):
        import base64

        try:
            raw = base64.b64decode(text[7:], validate=True)
        except ValueError:
            raise TransportRefused("the pin is not a valid SPKI SHA-256 value") from None
        text = raw.hex()
    text = text.replace(":", "").lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise TransportRefused("the pin must be the SHA-256 of the server's public key (hex)")
    return text


class PinnedContext(ssl.SSLContext):
    """A client context that also checks an SPKI pin right after every handshake, and keeps
    the sockets it made so :meth:`abort` can end a request blocked on them from another thread
    (closing a socket does not wake a ``recv`` in progress; ``shutdown`` does)."""

    pin: str | None = None
    _live: weakref.WeakSet[ssl.SSLSocket]
    _live_lock: threading.Lock

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        handshake = kwargs.pop("do_handshake_on_connect", True)
        kwargs["do_handshake_on_connect"] = False
        wrapped = super().wrap_socket(sock, *args, **kwargs)
        self._track(wrapped)
        if handshake:
            wrapped.do_handshake()  # after tracking: abort() also ends a stalled handshake
        if self.pin is not None:
            der = wrapped.getpeercert(binary_form=True)
            if der is None or spki_sha256(der) != self.pin:
                wrapped.close()
                raise ssl.SSLCertVerificationError(PIN_MISMATCH)
        return wrapped

    def _track(self, wrapped: ssl.SSLSocket) -> None:
        if not hasattr(self, "_live_lock"):
            self._live_lock = threading.Lock()
            self._live = weakref.WeakSet()
        with self._live_lock:
            self._live.add(wrapped)

    def abort(self) -> None:
        """Shuts down every socket made through this context (any thread)."""
        if not hasattr(self, "_live_lock"):
            return
        with self._live_lock:
            live = list(self._live)
        for sock in live:
            # the plain socket's shutdown: it leaves the TLS object to the reading thread
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


def client_context(ca_pem: str | None = None, pin: str | None = None) -> PinnedContext:
    """The one client TLS context (see module doc). Raises TransportRefused for a bad CA."""
    ctx = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.check_hostname = True
    ctx.keylog_filename = None  # type: ignore[assignment]
    if ca_pem:
        try:
            ctx.load_verify_locations(cadata=ca_pem)
        except (ssl.SSLError, ValueError):
            raise TransportRefused("the CA certificate file could not be read") from None
    else:
        _load_system_trust(ctx)
    ctx.pin = normalise_pin(pin)
    return ctx


def _load_system_trust(ctx: ssl.SSLContext) -> None:
    """The operating system's CA store at OpenSSL's BUILT-IN paths. Not ``load_default_certs``:
    that honours ``SSL_CERT_FILE``/``SSL_CERT_DIR``, which must not change whom we trust.
    Falls back to certifi's bundle when the system has none."""
    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
    capath = paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None
    if cafile or capath:
        ctx.load_verify_locations(cafile=cafile, capath=capath)
        return
    import certifi

    ctx.load_verify_locations(cafile=certifi.where())


def check_url(url: str) -> str:
    """Returns the URL without a trailing slash; TransportRefused unless it is ``https://``."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "https":
        raise TransportRefused(
            "The server address must start with https:// — plain HTTP is never used, because "
            "it would expose patient data and let anyone alter it in transit."
        )
    if not parts.hostname:
        raise TransportRefused("The server address has no host name.")
    return url.strip().rstrip("/")


def _explain(exc: httpx.HTTPError) -> SyncError:
    """A plain-words error for a transport failure; TLS problems are TransportRefused."""
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 8:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    text = " ".join(str(e) for e in chain)
    if PIN_MISMATCH in text:
        return TransportRefused(
            "The server's certificate does not match the pinned key; nothing was sent."
        )
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or "CERTIFICATE" in text:
        return TransportRefused(
            "The server's certificate could not be verified (expired, wrong name or untrusted "
            "issuer); nothing was sent."
        )
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "onnection refused" in text:
        return SyncError(
            "The server refused the connection: nothing answers at that address and port "
            "(is the server running, and is the address right?)."
        )
    if "EOF" in text or any(isinstance(e, ConnectionError) for e in chain):
        return SyncError("The connection to the server broke off.")
    if any(isinstance(e, ssl.SSLError) for e in chain) or "TLSV1_ALERT_PROTOCOL" in text:
        return TransportRefused(
            "A secure connection (TLS 1.3) could not be made with the server; nothing was sent."
        )
    if isinstance(exc, httpx.TimeoutException):
        return SyncError("The server did not answer in time.")
    return SyncError("The server could not be reached.")


OLD_TLS_ONLY = (
    "The server only offers TLS 1.2 or older; this tablet requires TLS 1.3. Nothing was sent."
)


def offers_old_tls_only(
    url: str, ca_pem: str | None, timeout: float = 5.0, ctx: PinnedContext | None = None
) -> bool:
    """True if the server completes a TLS 1.2 handshake (certificate verified as usual).

    A server limited to TLS 1.2 often just closes a TLS 1.3-only hello (no alert), which looks
    like a connection broken mid-handshake. After such an EOF this one probe tells the two apart:
    it sends no HTTP byte and its connection is closed at once.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    ctx = ctx or client_context(ca_pem)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=host) as tls,
        ):
            return tls.version() == "TLSv1.2"
    except (OSError, ssl.SSLError, TransportRefused):
        return False


@dataclass(slots=True)
class Traffic:
    """What one client exchanged: requests made and bytes of HTTP headers and bodies each way
    (TLS framing not counted). Counts only: safe to log."""

    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0

    def count(self, resp: httpx.Response) -> None:
        request = resp.request
        self.requests += 1
        self.bytes_sent += _header_bytes(request.headers) + len(request.content)
        self.bytes_received += _header_bytes(resp.headers) + len(resp.content)


def _header_bytes(headers: httpx.Headers) -> int:
    return sum(len(k) + len(v) + 4 for k, v in headers.raw)


class ServerClient:
    """Typed calls of the sync protocol over one httpx client (see module doc)."""

    def __init__(
        self,
        url: str,
        *,
        ca_pem: str | None = None,
        pin: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = check_url(url)
        self._ca_pem = ca_pem
        context = self._context = client_context(ca_pem, pin)
        self._probe: PinnedContext | None = None  # the TLS 1.2 probe's, aborted with us
        self._closed = False
        self._http = httpx.Client(
            base_url=self.url,
            verify=context,
            trust_env=False,
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
            headers={
                "User-Agent": f"mar-desktop-sync/{p.PROTOCOL_VERSION}",
                p.APP_VERSION_HEADER: __version__,
            },
        )
        self._token: str | None = None
        self._identity: tuple[str, str, DeviceSigner] | None = None
        self.traffic = Traffic()
        """Every request this client made (the calling thread's, see the module doc)."""
        self.server_date: datetime | None = None
        """The server's clock as its last cursor answer stated it (aware UTC), or None."""
        self.clock_offset: float | None = None
        """This tablet's clock minus the server's at the last cursor read (seconds), or None."""

    def close(self) -> None:
        """Closes the client; a request in progress on another thread fails at once."""
        self._closed = True
        self._context.abort()
        if self._probe is not None:
            self._probe.abort()
        self._http.close()

    def _old_tls_only(self) -> bool:
        if self._closed:
            return False
        if self._probe is None:
            self._probe = client_context(self._ca_pem)
        return offers_old_tls_only(self.url, self._ca_pem, ctx=self._probe)

    def __enter__(self) -> ServerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- low level ----------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        auth: bool = True,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        extra = headers or {}
        for attempt in (1, 2):
            headers = dict(extra)
            if auth:
                if self._token is None and self._identity is not None:
                    self.authenticate(*self._identity)
                if self._token is None:
                    raise SyncError("Not signed in to the server.")
                headers["Authorization"] = f"Bearer {self._token}"
            try:
                resp = self._http.request(method, path, json=json, params=params, headers=headers)
            except httpx.HTTPError as exc:
                error = _explain(exc)
                if (
                    isinstance(exc, httpx.ConnectError)
                    and not isinstance(error, TransportRefused)
                    and "EOF" in str(exc)
                    and self._old_tls_only()
                ):
                    error = TransportRefused(OLD_TLS_ONLY)
                raise error from None
            self.traffic.count(resp)
            if not (auth and resp.status_code == 401 and attempt == 1 and self._identity):
                return resp
            self._token = None  # expired (10 min): sign in again once and repeat the call
        return resp

    @staticmethod
    def _detail(resp: httpx.Response) -> str:
        try:
            detail = resp.json().get("detail")
        except (ValueError, AttributeError):
            detail = None
        return detail if isinstance(detail, str) else f"HTTP {resp.status_code}"

    def _check(self, resp: httpx.Response, ok: tuple[int, ...] = (200,)) -> None:
        if resp.status_code in ok:
            return
        detail = self._detail(resp)
        if resp.status_code == 426:
            raise _too_old(resp)
        if resp.status_code == 403 and "revoked" in detail:
            raise DeviceRevoked(
                "This tablet has been revoked by the facility administrator and can no longer "
                "sync.",
                self._revocation(resp),
            )
        if resp.status_code == 401:
            self._token = None
            raise SyncError(f"The server did not accept this tablet's sign-in: {detail}")
        if resp.status_code >= 500:
            raise SyncError("The server is having trouble.")
        raise SyncError(f"The server refused the request: {detail}")

    @staticmethod
    def _revocation(resp: httpx.Response) -> bytes | None:
        try:
            text = resp.json().get("revocation")
        except (ValueError, AttributeError):
            return None
        return text.encode("utf-8") if isinstance(text, str) and len(text) < 10_000 else None

    def _date(self, resp: httpx.Response) -> None:
        moment = resp.headers.get("date")
        if moment:
            try:
                when = parsedate_to_datetime(moment)
            except (TypeError, ValueError):
                return
            if when.tzinfo is not None:
                self.server_date = when

    @staticmethod
    def _parse(model: type[M], resp: httpx.Response) -> M:
        try:
            return model.model_validate(resp.json())
        except (ValueError, PydanticValidationError):
            raise SyncError("The server's answer could not be read.") from None

    def _call(
        self, model: type[M], method: str, path: str, ok: tuple[int, ...] = (200,), **kw: Any
    ) -> M:
        resp = self._send(method, path, **kw)
        self._check(resp, ok)
        return self._parse(model, resp)

    # ---- protocol -----------------------------------------------------------------------------
    def enroll(self, code: str, public_key: str, label: str) -> p.EnrollResponse:
        req = p.EnrollRequest(code=code.strip(), public_key=public_key, label=label)
        resp = self._send("POST", "/v1/enroll", json=req.model_dump(), auth=False)
        if resp.status_code == 401:
            raise SyncError("The enrolment code is not valid, was already used or has expired.")
        self._check(resp)
        return self._parse(p.EnrollResponse, resp)

    def authenticate(self, device_id: str, server_id: str, signer: DeviceSigner) -> None:
        """Challenge–response; keeps the token in memory (and signs in again by itself when
        it expires). Raises SyncError/DeviceRevoked/TransportRefused."""
        self._identity = (device_id, server_id, signer)
        challenge = self._call(
            p.ChallengeResponse,
            "POST",
            "/v1/auth/challenge",
            json={"device_id": device_id},
            auth=False,
        )
        if challenge.server_id != server_id:
            raise TransportRefused("The server is not the one this tablet was enrolled with.")
        sig = signer.sign(p.auth_message(server_id, device_id, challenge.nonce)).hex()
        token = self._call(
            p.TokenResponse,
            "POST",
            "/v1/auth/token",
            json={"device_id": device_id, "nonce": challenge.nonce, "signature": sig},
            auth=False,
        )
        self._token = token.token

    @property
    def authenticated(self) -> bool:
        return self._token is not None

    def cursor(self, client_time: datetime | None = None) -> p.CursorResponse:
        """The chain heads; also notes the server's clock (its ``Date`` header) as
        :attr:`server_date`, which the offline limit counts from. ``client_time``, this tablet's
        clock, is sent for the server to compare with its own; the server's own clock comes back
        (:attr:`clock_offset` is then this tablet's clock minus the server's, in seconds)."""
        headers = {} if client_time is None else {p.CLIENT_TIME_HEADER: utc_iso(client_time)}
        resp = self._send("GET", "/v1/cursor", headers=headers)
        self._check(resp)
        self._date(resp)
        if client_time is not None:
            server_time = _server_time(resp) or self.server_date
            if server_time is not None:
                self.clock_offset = (client_time - server_time).total_seconds()
        return self._parse(p.CursorResponse, resp)

    def retire(self, ledger: int, audit: int) -> p.RetireResult:
        """Confirms a retirement (see the protocol); SyncError on 409."""
        return self._call(
            p.RetireResult, "POST", "/v1/retire", json={"ledger": ledger, "audit": audit}
        )

    def push(self, raws: list[bytes]) -> tuple[int, p.Receipt]:
        """Pushes one batch; returns (status, receipt) for 200/409/422 with a receipt."""
        body = {"entries": [p.encode_entry(raw) for raw in raws]}
        resp = self._send("POST", "/v1/push", json=body)
        if resp.status_code in (409, 422):
            try:
                return resp.status_code, p.Receipt.model_validate(resp.json())
            except (ValueError, PydanticValidationError):
                pass
        self._check(resp)
        return resp.status_code, self._parse(p.Receipt, resp)

    def relay(self, raws: list[bytes]) -> p.RelayResult | None:
        """Returns the server's own entries to it; None when it holds different ones (409)."""
        body = {"entries": [p.encode_entry(raw) for raw in raws]}
        resp = self._send("POST", "/v1/relay", json=body)
        if resp.status_code == 409:
            return None
        self._check(resp)
        return self._parse(p.RelayResult, resp)

    def feed(self, after: int, limit: int) -> p.FeedPage:
        """One feed page, validated straight from the response bytes (one pass, no dicts: a
        page holds up to ``MAX_PAGE`` entries and a new tablet reads hundreds of pages)."""
        resp = self._send("GET", "/v1/feed", params={"after": after, "limit": limit})
        self._check(resp)
        try:
            return p.FeedPage.model_validate_json(resp.content)
        except PydanticValidationError:
            raise SyncError("The server's answer could not be read.") from None

    def devices(self) -> p.DevicesResponse:
        return self._call(p.DevicesResponse, "GET", "/v1/devices")

    def snapshot(self) -> p.Snapshot | None:
        """The facility's signed snapshot; None from a server too old to make one (404)."""
        resp = self._send("GET", "/v1/snapshot")
        if resp.status_code == 404:
            return None
        self._check(resp)
        try:
            return p.Snapshot.model_validate_json(resp.content)
        except PydanticValidationError:
            raise SyncError("The server's answer could not be read.") from None

    def history(self, before: int, limit: int) -> p.FeedPage:
        """Ledger feed entries before ``before``, newest first (``GET /v1/history``)."""
        resp = self._send("GET", "/v1/history", params={"before": before, "limit": limit})
        self._check(resp)
        try:
            return p.FeedPage.model_validate_json(resp.content)
        except PydanticValidationError:
            raise SyncError("The server's answer could not be read.") from None

    def report_mismatch(self, checkpoint: int, detail: str) -> None:
        """Tells the server the chains disagree with the snapshot (it raises an alert)."""
        resp = self._send(
            "POST", "/v1/snapshot/mismatch", json={"checkpoint": checkpoint, "detail": detail}
        )
        self._check(resp, (204,))

    def credentials(self, after: int, limit: int) -> p.CredentialPage:
        return self._call(
            p.CredentialPage, "GET", "/v1/credentials", params={"after": after, "limit": limit}
        )

    def put_credential(self, user_id: str, version: int, record: dict[str, Any]) -> int:
        """Stores a credential version; returns the HTTP status (200 stored, 409 conflict)."""
        path = f"/v1/credentials/{quote(user_id, safe='')}"
        resp = self._send("PUT", path, json={"version": version, "record": record})
        if resp.status_code in (403, 409):
            return resp.status_code  # refused as not authorised / that version held otherwise
        self._check(resp)
        return 200

    def report_refused_credential(self, user_id: str, version: int, reason: str) -> None:
        """Tells the server that a record it served did not verify here (it raises the
        alert). ``reason`` holds no secret."""
        body = p.CredentialRefusedReport(user_id=user_id, version=version, reason=reason[:500])
        resp = self._send("POST", "/v1/credentials/refused", json=body.model_dump())
        self._check(resp, ok=(204,))


ClientFactory = Callable[[], ServerClient]


def _too_old(resp: httpx.Response) -> TabletUpdateRequired:
    """The 426 answer as an error naming the oldest version the server accepts (unreadable:
    this app's own version is named, so the message still tells the person to update)."""
    try:
        oldest = p.TabletTooOld.model_validate_json(resp.content).oldest_accepted[:40]
    except ValueError:
        oldest = "a newer version"
    return TabletUpdateRequired(update_message(oldest), oldest)


def _server_time(resp: httpx.Response) -> datetime | None:
    """The server's clock from its ``X-MAR-Server-Time`` header (newer servers), or None."""
    value = resp.headers.get(p.SERVER_TIME_HEADER)
    if not value or len(value) > 40:
        return None
    try:
        return parse_utc(value)
    except ValueError:
        return None
