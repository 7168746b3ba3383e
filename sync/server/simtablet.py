"""A minimal simulated tablet speaking the sync protocol: for tests, the push benchmark and as a
worked example for the device-side engine. Not the real sync engine (no storage, no retries).

It keeps its two chains in memory, seals entries with its own key like a tablet does, enrols
with a one-time code, authenticates by challenge–response and pushes. Use from one thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from mar_desktop import kinds
from mar_desktop.envelope import GENESIS, Actor, Chain, Entry, EntryDraft, chain_of, seal
from mar_desktop.model import Outcome
from mar_desktop.signing import DeviceSigner
from sync import protocol as p

NURSE = Actor(user_id="user-nurse-1", role="nurse")


def administration_body(n: int = 0) -> dict[str, Any]:
    """A valid ``administration.recorded`` body (fictional resident and order)."""
    at = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    return kinds.body_json(
        kinds.AdministrationRecorded(
            resident_id=f"res-{n % 60}",
            order_id=f"ord-{n % 240}",
            scheduled_for=at,
            administered_at=at,
            outcome=Outcome.GIVEN,
            dose_given=Decimal("5"),
            dose_unit="mg",
            route="PO",
            note="",
        )
    )


def audit_body() -> dict[str, Any]:
    return kinds.body_json(
        kinds.AuditEvent(
            user_id=NURSE.user_id,
            user_name="Test Nurse",
            role="nurse",
            entity_type="resident",
            entity_id="res-1",
        )
    )


@dataclass
class SimTablet:
    """One simulated device. ``http`` is any httpx client pointed at the server."""

    http: httpx.Client
    signer: DeviceSigner = field(default_factory=DeviceSigner.generate)
    device_id: str = ""
    facility_id: str = ""
    server_id: str = ""
    server_public_key: str = ""
    token: str = ""
    heads: dict[Chain, tuple[int, str]] = field(
        default_factory=lambda: {"ledger": (0, GENESIS), "audit": (0, GENESIS)}
    )
    entries: list[Entry] = field(default_factory=list)

    def enroll(self, code: str, label: str = "cart") -> p.EnrollResponse:
        req = p.EnrollRequest(code=code, public_key=self.signer.public_hex, label=label)
        resp = self.http.post("/v1/enroll", json=req.model_dump())
        resp.raise_for_status()
        out = p.EnrollResponse.model_validate(resp.json())
        self.device_id, self.facility_id = out.device_id, out.facility_id
        self.server_id, self.server_public_key = out.server_id, out.server_public_key
        return out

    def sign_nonce(self, nonce: str) -> str:
        return self.signer.sign(p.auth_message(self.server_id, self.device_id, nonce)).hex()

    def challenge(self) -> str:
        resp = self.http.post("/v1/auth/challenge", json={"device_id": self.device_id})
        resp.raise_for_status()
        return str(resp.json()["nonce"])

    def authenticate(self) -> str:
        nonce = self.challenge()
        req = {"device_id": self.device_id, "nonce": nonce, "signature": self.sign_nonce(nonce)}
        resp = self.http.post("/v1/auth/token", json=req)
        resp.raise_for_status()
        self.token = str(resp.json()["token"])
        return self.token

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def seal(
        self,
        kind: str = kinds.ADMINISTRATION_RECORDED,
        body: dict[str, Any] | None = None,
        *,
        seq: int | None = None,
        advance: bool = True,
        facility_id: str | None = None,
    ) -> Entry:
        """The next entry of the kind's chain (or one at ``seq``, for fork tests)."""
        chain = chain_of(kind)
        head_seq, prev = self.heads[chain]
        if body is None:
            body = audit_body() if chain == "audit" else administration_body(head_seq)
        entry = seal(
            EntryDraft(kind, NURSE, body),
            facility_id=facility_id or self.facility_id,
            device_id=self.device_id,
            seq=seq or head_seq + 1,
            prev=prev,
            recorded_at=datetime.now(UTC),
            signer=self.signer,
        )
        if advance:
            self.heads[chain] = (entry.seq, entry.digest)
            self.entries.append(entry)
        return entry

    def make(self, n: int, kind: str = kinds.ADMINISTRATION_RECORDED) -> list[Entry]:
        return [self.seal(kind) for _ in range(n)]

    def push(self, entries: list[Entry] | list[str]) -> httpx.Response:
        wire = [e if isinstance(e, str) else p.encode_entry(e.raw) for e in entries]
        return self.http.post("/v1/push", json={"entries": wire}, headers=self.auth)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.auth)
