"""Push: chain checks, idempotence, forks, gaps, receipts and bad input."""

from __future__ import annotations

import base64
import dataclasses
import json

from mar_desktop import kinds
from mar_desktop.envelope import parse_raw
from sync.protocol import Receipt, verify_receipt
from tests.sync.server.conftest import Server


def _receipt(resp_json: dict[str, object], server: Server) -> Receipt:
    receipt = Receipt.model_validate(resp_json)
    assert verify_receipt(receipt, server.core.public_key)
    return receipt


def _feed(server: Server, chain: str = "ledger") -> list[bytes]:
    return [e.raw for e in server.store.feed(server.facility_id, chain, 0, 10_000)]  # type: ignore[arg-type]


def test_push_stores_both_chains_and_signs_a_receipt(server: Server) -> None:
    tab = server.tablet()
    batch = tab.make(5) + tab.make(2, "audit.resident_viewed") + tab.make(1)
    resp = tab.push(batch)
    assert resp.status_code == 200, resp.text
    receipt = _receipt(resp.json(), server)
    assert receipt.heads == {"ledger": 6, "audit": 2}
    assert (receipt.stored, receipt.duplicates, receipt.rejections) == (8, 0, [])
    assert receipt.device_id == tab.device_id
    cursor = tab.get("/v1/cursor").json()
    assert cursor["ledger"]["seq"] == 6 and cursor["audit"]["seq"] == 2
    assert cursor["ledger"]["digest"] == batch[-1].digest
    stored = _feed(server)
    assert [e.raw for e in batch if e.chain == "ledger"] == stored[-6:]
    assert [e.raw for e in batch if e.chain == "audit"] == _feed(server, "audit")


def test_receipt_signature_covers_the_heads(server: Server) -> None:
    tab = server.tablet()
    receipt = _receipt(tab.push(tab.make(2)).json(), server)
    forged = receipt.model_copy(update={"heads": {"ledger": 99, "audit": 0}})
    assert not verify_receipt(forged, server.core.public_key)
    assert not verify_receipt(receipt, tab.signer.public_hex)


def test_resend_is_acknowledged_and_stored_once(server: Server) -> None:
    tab = server.tablet()
    batch = tab.make(4)
    assert tab.push(batch).status_code == 200
    before = _feed(server)
    again = tab.push(batch)
    assert again.status_code == 200
    receipt = _receipt(again.json(), server)
    assert (receipt.stored, receipt.duplicates, receipt.heads["ledger"]) == (0, 4, 4)
    assert _feed(server) == before
    # a re-send overlapping new entries stores only the new ones
    more = tab.make(2)
    receipt = _receipt(tab.push(batch[2:] + more).json(), server)
    assert (receipt.stored, receipt.duplicates, receipt.heads["ledger"]) == (2, 2, 6)


def test_base64_entries_are_accepted(server: Server) -> None:
    tab = server.tablet()
    wire = [base64.b64encode(e.raw).decode() for e in tab.make(2)]
    assert tab.push(wire).status_code == 200
    assert server.store.heads(tab.device_id)["ledger"].seq == 2


def test_fork_is_refused_and_alerted_once(server: Server) -> None:
    tab = server.tablet()
    assert tab.push(tab.make(3)).status_code == 200
    # a clone restored from an older copy writes a different seq 3
    clone_head = tab.entries[1]
    tab.heads["ledger"] = (2, clone_head.digest)
    forked = tab.seal(kinds.ADMINISTRATION_RECORDED, kinds_body(), advance=False)
    assert forked.seq == 3
    resp = tab.push([forked])
    assert resp.status_code == 409
    receipt = _receipt(resp.json(), server)
    assert receipt.rejections[0].code == "fork"
    assert "different bytes" in receipt.rejections[0].reason
    assert receipt.heads["ledger"] == 3
    alerts = tab.get("/v1/alerts").json()["alerts"]
    assert [(a["alert_type"], a["device_id"]) for a in alerts] == [("fork", tab.device_id)]
    # the stored seq 3 is untouched; a retry of the same fork raises no second alert
    assert tab.push([forked]).status_code == 409
    assert len(tab.get("/v1/alerts").json()["alerts"]) == 1
    assert server.store.heads(tab.device_id)["ledger"].digest == tab.entries[2].digest


def test_entry_not_linking_to_the_stored_head_is_a_fork(server: Server) -> None:
    tab = server.tablet()
    first = tab.make(2)
    assert tab.push(first).status_code == 200
    tab.heads["ledger"] = (2, "ab" * 32)  # the device's seq 2 differs from the server's
    resp = tab.push([tab.seal()])
    assert resp.status_code == 409
    assert "prev hash mismatch" in resp.json()["rejections"][0]["reason"]
    assert server.store.heads(tab.device_id)["ledger"].seq == 2


def test_gap_is_refused_with_a_reason(server: Server) -> None:
    tab = server.tablet()
    one, _two, three = tab.make(3)
    assert tab.push([one]).status_code == 200
    resp = tab.push([three])
    assert resp.status_code == 422
    rejection = resp.json()["rejections"][0]
    assert rejection["code"] == "gap" and rejection["seq"] == 3
    assert "seq 2 must come first" in rejection["reason"]
    assert server.store.heads(tab.device_id)["ledger"].seq == 1


def test_out_of_order_batch_stores_only_what_continues_the_chain(server: Server) -> None:
    tab = server.tablet()
    one, two = tab.make(2)
    resp = tab.push([two, one])
    assert resp.status_code == 422
    receipt = _receipt(resp.json(), server)
    assert [(r.index, r.code) for r in receipt.rejections] == [(0, "gap")]
    assert receipt.heads["ledger"] == 1
    assert _feed(server)[-1] == one.raw


def test_one_bad_entry_is_reported_and_blocks_only_its_chain(server: Server) -> None:
    tab = server.tablet()
    good1, bad, after = tab.make(3)
    tampered = bad.raw.replace(b'"route":"PO"', b'"route":"IV"')
    audit = tab.make(1, "audit.resident_viewed")
    resp = tab.push(
        [good1.raw.decode(), tampered.decode(), after.raw.decode(), audit[0].raw.decode()]
    )
    assert resp.status_code == 422
    receipt = _receipt(resp.json(), server)
    assert [(r.index, r.code) for r in receipt.rejections] == [(1, "bad_signature"), (2, "gap")]
    assert receipt.heads == {"ledger": 1, "audit": 1}


def test_refused_entries_store_nothing(server: Server) -> None:
    tab = server.tablet()
    other = server.tablet()
    base = tab.seal(advance=False)
    unsigned = base.raw[: base.raw.rfind(b',"sig"')] + b"}"
    bad_body = tab.seal(kinds.ADMINISTRATION_RECORDED, {"v": 1, "nonsense": True}, advance=False)
    unknown_kind = tab.seal("made.up", {"v": 1}, advance=False)
    not_mine = other.seal(advance=False)
    cases = {
        "malformed": unsigned,
        "invalid_body": bad_body.raw,
        "wrong_device": not_mine.raw,
    }
    for code, raw in cases.items():
        resp = tab.push([raw.decode()])
        assert resp.status_code == 422, code
        assert resp.json()["rejections"][0]["code"] == code
    resp = tab.push([unknown_kind.raw.decode()])
    assert resp.json()["rejections"][0]["code"] == "invalid_body"
    assert "unknown entry kind" in resp.json()["rejections"][0]["reason"]
    assert server.store.heads(tab.device_id)["ledger"].seq == 0
    # the server keeps serving: a good push still works
    assert tab.push(tab.make(1)).status_code == 200


def test_other_facility_entries_are_refused(server: Server) -> None:
    other_facility, _ = server.core.create_facility("Birch Court", "UTC")
    tab = server.tablet()
    foreign = tab.seal(facility_id=other_facility, advance=False)
    resp = tab.push([foreign])
    assert resp.status_code == 422
    assert resp.json()["rejections"][0]["code"] == "wrong_facility"
    assert server.store.feed(other_facility, "ledger", 0, 100)[-1].kind == "facility.configured"


def test_malformed_and_oversized_requests(server: Server) -> None:
    tab = server.tablet()
    headers = {**tab.auth, "content-type": "application/json"}
    bad_json = server.client.post("/v1/push", content=b'{"entries": [', headers=headers)
    assert bad_json.status_code == 400
    assert "malformed JSON" in bad_json.json()["detail"]
    assert bad_json.headers["strict-transport-security"].startswith("max-age=")
    empty = tab.push([])
    assert empty.status_code == 422
    not_b64 = tab.push(["%%%not base64%%%"])
    assert not_b64.status_code == 422 and "base64" in not_b64.json()["detail"]
    big = json.dumps({"entries": ["A" * (5 * 1024 * 1024)]}).encode()
    resp = server.client.post("/v1/push", content=big, headers=headers)
    assert resp.status_code == 413
    assert "larger than" in resp.json()["detail"]
    assert resp.headers["strict-transport-security"].startswith("max-age=")

    def chunks() -> object:
        for _ in range(6):
            yield b"A" * (1024 * 1024)

    chunked = server.client.post("/v1/push", content=chunks(), headers=headers)  # type: ignore[arg-type]
    assert chunked.status_code == 413
    assert server.client.get("/health").json()["status"] == "ok"
    assert tab.push(tab.make(1)).status_code == 200


def test_hsts_on_every_response(server: Server) -> None:
    for resp in (
        server.client.get("/health"),
        server.client.get("/v1/cursor"),
        server.client.get("/nope"),
    ):
        assert "max-age" in resp.headers["strict-transport-security"]


def test_stored_rows_cannot_be_changed(server: Server) -> None:
    import pytest

    from mar_desktop.errors import StorageError

    tab = server.tablet()
    tab.push(tab.make(1))
    tab.heads["ledger"] = (0, "0" * 64)
    assert tab.push([tab.seal(body=kinds_body())]).status_code == 409  # a fork row
    server.core.create_first_admin(server.facility_id, "admin", "Dana Whitfield")
    for sql in (
        "UPDATE entries SET kind = 'x'",
        "DELETE FROM entries",
        "UPDATE credentials SET record = '{}'",
        "DELETE FROM forks",
    ):
        with pytest.raises(StorageError, match="append-only"), server.store.write() as txn:
            txn._all(sql)  # type: ignore[attr-defined]


def kinds_body() -> dict[str, object]:
    from sync.server.simtablet import administration_body

    body = administration_body(7)
    return {**body, "note": "different"}


def test_parse_of_pushed_entry_roundtrips(server: Server) -> None:
    tab = server.tablet()
    entry = tab.make(1)[0]
    tab.push([entry])
    stored = server.store.feed(server.facility_id, "ledger", 0, 100)[-1]
    assert dataclasses.asdict(parse_raw(stored.raw)) == dataclasses.asdict(entry)
