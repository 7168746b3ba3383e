"""Who may change an account, on the server (issue 22): a rogue enrolled device cannot take
over, create, change, elevate, unlock or reset any account, while a facility admin signing with
their own key on another tablet can. Every refusal stores nothing, raises one alert, and leaves
the facility's other devices as they were. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from mar_desktop import kinds
from mar_desktop.envelope import parse_raw
from mar_desktop.model import Role
from mar_desktop.people import issue, userkeys
from mar_desktop.people.statements import SYSTEM, AccountRecord, StatementChange
from mar_desktop.people.totp import TotpEnrolment
from mar_desktop.signing import DeviceSigner, load_public_key
from sync.server.simtablet import SimTablet
from tests.statements import AT, FAST_PARAMS, OWN, TEMP, Signed
from tests.sync.server.conftest import Server
from tests.sync.server.records import account_json, signed_admin

ROGUE_PASSWORD = "rogue took this account over"


def put(tab: SimTablet, record: AccountRecord | dict[str, Any]) -> Any:
    body = record.model_dump(mode="json") if isinstance(record, AccountRecord) else record
    return tab.http.put(
        f"/v1/credentials/{body['user_id']}",
        json={"version": body["version"], "record": body},
        headers=tab.auth,
    )


def feed(tab: SimTablet) -> list[AccountRecord]:
    items = tab.get("/v1/credentials").json()["items"]
    return [AccountRecord.model_validate(i["record"]) for i in items]


def alerts(server: Server) -> list[kinds.AlertRaised]:
    device = server.store.server_device(server.facility_id)
    assert device is not None
    found = server.store.entries_of_kind(server.facility_id, device.device_id, kinds.ALERT_RAISED)
    bodies = [kinds.AlertRaised.model_validate(parse_raw(e.raw).body) for e in found]
    return [b for b in bodies if b.alert_type == "credential_refused"]


def next_of(
    head: AccountRecord, change: StatementChange, key: DeviceSigner, by: str, **fields: Any
) -> AccountRecord:
    return head.revise(change=change, at=AT, by=by, device_id="victim-tablet", **fields).signed(
        key
    )


def nurse_of(server: Server, admin: Signed, tab: SimTablet) -> Signed:
    """A nurse created by the admin (co-signed by the server) with their own key bound."""
    assert put(tab, account_json(admin, "u-nurse", username="nurse")).status_code == 200
    created = next(r for r in feed(tab) if r.user_id == "u-nurse")
    derived = userkeys.check(created.password, TEMP)
    assert derived is not None
    bound, key = issue.bind_key(created, derived, OWN, FAST_PARAMS, at=AT, device_id="t")
    assert put(tab, bound).status_code == 200
    return Signed([created, bound], key)


def assert_nothing_stored_and_others_unaffected(
    server: Server, before: list[AccountRecord], refusals: int
) -> None:
    other = server.tablet(label="another cart")
    assert feed(other) == before  # what every other device reads is what it was
    assert other.push(other.make(1)).status_code == 200
    assert len(alerts(server)) == refusals


def test_the_reported_takeover_is_refused(server: Server) -> None:
    """The report: a second enrolled device reads the admin's record, then PUTs the next
    version with its own password verifier and TOTP secret, claiming the victim tablet."""
    admin = signed_admin(server)
    rogue = server.tablet(label="rogue")
    held = next(r for r in feed(rogue) if r.user_id == admin.head.user_id and r.version == 2)
    fields, rogue_key = issue.key_fields(admin.head.user_id, ROGUE_PASSWORD, FAST_PARAMS)
    fields.pop("bind_public")
    totp = TotpEnrolment.create("admin", "MAR").secret
    before = feed(rogue)
    attempts = [
        # as the admin's own password change, signed by a key the rogue made
        next_of(held, "password_changed", rogue_key, admin.head.user_id, **fields),
        # as an admin reset of the admin, signed by the rogue's key
        next_of(
            held, "password_reset", rogue_key, admin.head.user_id,
            **issue.temporary_fields(ROGUE_PASSWORD, FAST_PARAMS),
        ),
        # as an authenticator enrolment with its own secret
        next_of(held, "totp_enrolled", rogue_key, admin.head.user_id, totp_secret=totp,
                totp_enrolled=True),
        # as something only the server makes
        next_of(held, "password_reset", rogue_key, SYSTEM,
                **issue.temporary_fields(ROGUE_PASSWORD, FAST_PARAMS)),
        # with a co-signature it made up
        next_of(held, "unlocked", rogue_key, admin.head.user_id, unlocked_at=AT).model_copy(
            update={"server_sig": rogue_key.sign(b"anything").hex()}
        ),
    ]
    for record in attempts:
        resp = put(rogue, record)
        assert resp.status_code == 403, resp.text
        assert "refused" in resp.json()["detail"]
    # a higher version than the next one does not follow either
    skipped = attempts[0].model_copy(update={"version": 9})
    assert put(rogue, skipped).status_code == 403
    assert_nothing_stored_and_others_unaffected(server, before, refusals=6)
    assert all(a.device_id == rogue.device_id for a in alerts(server))


def test_a_rogue_device_cannot_create_change_elevate_unlock_or_reset_any_account(
    server: Server,
) -> None:
    admin = signed_admin(server)
    admin_tablet = server.tablet(label="admin's tablet")
    nurse = nurse_of(server, admin, admin_tablet)
    rogue = server.tablet(label="rogue")
    rogue_key = DeviceSigner.generate()
    assert nurse.key is not None
    before = feed(rogue)
    head = nurse.head
    attempts = {
        "create": issue.new_account(
            user_id="u-new", username="newadmin", role=Role.FACILITY_ADMIN, temp=TEMP,
            params=FAST_PARAMS, at=AT, by=admin.head.user_id, device_id="r",
        ).signed(rogue_key),
        "change": next_of(head, "account_changed", rogue_key, admin.head.user_id,
                          unit_ids=("east",)),
        "elevate (rogue key)": next_of(head, "account_changed", rogue_key, admin.head.user_id,
                                       role=Role.FACILITY_ADMIN),
        # the nurse's own key (an insider who knows their password) cannot raise their role
        "elevate (own key)": next_of(head, "account_changed", nurse.key, head.user_id,
                                     role=Role.FACILITY_ADMIN),
        "elevate (self change)": next_of(head, "password_changed", nurse.key, head.user_id,
                                         role=Role.FACILITY_ADMIN),
        "unlock": next_of(head, "unlocked", rogue_key, admin.head.user_id, unlocked_at=AT),
        "deactivate": next_of(head, "account_changed", rogue_key, admin.head.user_id,
                              active=False),
        "reset": next_of(head, "password_reset", rogue_key, admin.head.user_id,
                         **issue.temporary_fields(ROGUE_PASSWORD, FAST_PARAMS)),
        "reset authenticator": next_of(head, "mfa_reset", rogue_key, admin.head.user_id),
    }
    for what, record in attempts.items():
        resp = put(rogue, record)
        assert resp.status_code == 403, (what, resp.text)
    assert_nothing_stored_and_others_unaffected(server, before, refusals=len(attempts))

    # the same changes signed by the admin's own key, sent from the admin's tablet, are taken
    # and co-signed by the server
    assert admin.key is not None
    server_key = load_public_key(server.core.public_key)
    made = [
        next_of(head, "account_changed", admin.key, admin.head.user_id, role=Role.CNA),
    ]
    made.append(next_of(made[-1], "unlocked", admin.key, admin.head.user_id, unlocked_at=AT))
    made.append(
        next_of(made[-1], "password_reset", admin.key, admin.head.user_id,
                **issue.temporary_fields("new temporary words 7", FAST_PARAMS))
    )
    for record in made:
        resp = put(admin_tablet, record)
        assert resp.status_code == 200, resp.text
    created = account_json(admin, "u-new", username="newcomer")
    assert put(admin_tablet, created).status_code == 200
    held = {(r.user_id, r.version): r for r in feed(rogue)}
    for record in made:
        stored = held[(record.user_id, record.version)]
        assert stored.digest() == record.digest()
        assert stored.server_sig_valid(server_key)
    assert held[("u-new", 1)].server_sig_valid(server_key)
    assert held[(head.user_id, 5)].role is Role.CNA


def test_a_refusal_raises_one_alert_however_often_it_is_sent(server: Server) -> None:
    admin = signed_admin(server)
    rogue = server.tablet(label="rogue")
    record = next_of(admin.head, "unlocked", DeviceSigner.generate(), admin.head.user_id,
                     unlocked_at=AT)
    for _ in range(3):
        assert put(rogue, record).status_code == 403
    assert len(alerts(server)) == 1
    report = {"user_id": admin.head.user_id, "version": 3, "reason": "did not verify"}
    resp = rogue.http.post("/v1/credentials/refused", json=report, headers=rogue.auth)
    assert resp.status_code == 204
    assert len(alerts(server)) == 2  # the tablet's report: one more alert
    resp = rogue.http.post("/v1/credentials/refused", json=report, headers=rogue.auth)
    assert len(alerts(server)) == 2  # reported again: still one
