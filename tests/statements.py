"""Signed account records for tests: a facility's server key, its first admin and what an admin
or a user signs, as the real services and ``mar-server init`` make them (fast Argon2id)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mar_desktop.model import Role
from mar_desktop.people import issue, userkeys
from mar_desktop.people.passwords import Argon2Parameters
from mar_desktop.people.statements import SYSTEM, AccountRecord, StatementChange
from mar_desktop.signing import DeviceSigner

FAST_PARAMS = Argon2Parameters(time_cost=1, memory_kib=64, parallelism=1)
AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TEMP = "temporary-harbour-lantern-42"
OWN = "violet heron above the salt marsh"


@dataclass
class Signed:
    """An account's records so far and its user's key (once bound)."""

    records: list[AccountRecord]
    key: DeviceSigner | None = field(default=None, repr=False)

    @property
    def head(self) -> AccountRecord:
        return self.records[-1]


class Authority:
    """Builds statements for one facility whose server key is ``server``."""

    def __init__(self, server: DeviceSigner | None = None) -> None:
        self.server = server or DeviceSigner.generate()

    def first_admin(self, user_id: str = "u-admin", username: str = "admin") -> Signed:
        """``mar-server init``'s first admin, then their key bound with :data:`OWN`."""
        created = issue.new_account(
            user_id=user_id,
            username=username,
            role=Role.FACILITY_ADMIN,
            temp=TEMP,
            params=FAST_PARAMS,
            at=AT,
            by=SYSTEM,
            device_id="server",
        ).cosigned(self.server)
        return self.bind(Signed([created]))

    def bind(self, account: Signed, temp: str = TEMP, own: str = OWN) -> Signed:
        derived = userkeys.check(account.head.password, temp)
        assert derived is not None
        bound, key = issue.bind_key(
            account.head, derived, own, FAST_PARAMS, at=AT, device_id="tab-user"
        )
        return Signed([*account.records, bound], key)

    def create(
        self,
        admin: Signed,
        user_id: str,
        username: str,
        role: Role = Role.NURSE,
        *,
        cosign: bool = True,
    ) -> Signed:
        assert admin.key is not None
        record = issue.new_account(
            user_id=user_id,
            username=username,
            role=role,
            temp=TEMP,
            params=FAST_PARAMS,
            at=AT,
            by=admin.head.user_id,
            device_id="tab-admin",
        ).signed(admin.key)
        return Signed([record.cosigned(self.server) if cosign else record])

    def change(
        self,
        account: Signed,
        signer: Signed | DeviceSigner,
        change: StatementChange,
        *,
        by: str | None = None,
        cosign: bool = True,
        **fields: Any,
    ) -> AccountRecord:
        """The next version of ``account`` signed by ``signer`` (a user's records or a bare
        key, ``by`` naming who it claims to be)."""
        key = signer.key if isinstance(signer, Signed) else signer
        assert key is not None
        who = by or (signer.head.user_id if isinstance(signer, Signed) else "someone")
        record = account.head.revise(
            change=change, at=AT, by=who, device_id="tab", **fields
        ).signed(key)
        return record.cosigned(self.server) if cosign else record
