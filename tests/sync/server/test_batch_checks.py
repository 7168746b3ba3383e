"""Large pushes take the parallel checking path (threads or worker processes); every entry is
still checked on its own: a bad signature, a non-canonical encoding, an invalid body or another
device's entry in the middle of a batch is refused there, and the chain stops at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mar_desktop.envelope import Entry
from sync.protocol import Receipt, verify_receipt
from sync.server.checker import Checked, Mode, Verifier, check_chunk
from sync.server.simtablet import SimTablet
from tests.sync.server.conftest import Server

N = 120  # well above the inline threshold: split across workers


def _tampered(entry: Entry) -> bytes:
    return entry.raw.replace(b'"route":"PO"', b'"route":"IV"')


def _non_canonical(entry: Entry) -> bytes:
    """Same fields, same signature, one insignificant space: not the signed canonical bytes."""
    return entry.raw.replace(b'{"actor":', b'{ "actor":', 1)


def _offline_tablet() -> SimTablet:
    tab = SimTablet(http=None)  # type: ignore[arg-type]
    tab.device_id, tab.facility_id = "dev-1", "fac-1"
    return tab


@pytest.fixture(params=["inline", "threads", "processes"])
def verifier(request: pytest.FixtureRequest) -> Iterator[Verifier]:
    mode: Mode = request.param
    v = Verifier(mode, 2)
    yield v
    v.close()


def test_every_mode_gives_the_same_per_entry_verdicts(verifier: Verifier) -> None:
    tab = _offline_tablet()
    other = _offline_tablet()
    other.device_id = "dev-2"
    raws = [e.raw for e in tab.make(N)]
    raws[17] = _tampered(tab.entries[17])
    raws[50] = _non_canonical(tab.entries[50])
    raws[83] = other.seal().raw
    raws[99] = b"not json at all"
    got = verifier.check(raws, tab.signer.public_hex, tab.device_id, tab.facility_id)
    assert len(got) == N
    codes = {i: c.code for i, c in enumerate(got) if c.code is not None}
    assert codes == {17: "bad_signature", 50: "malformed", 83: "wrong_device", 99: "malformed"}
    inline = check_chunk(raws, tab.signer.public_hex, tab.device_id, tab.facility_id)
    assert got == inline
    good: Checked = got[0]
    assert good.facts is not None and good.facts.digest == tab.entries[0].digest
    body = tab.entries[0].body  # what reconciliation gets without parsing the body again
    assert good.dose is not None and good.dose[:2] == (body["resident_id"], body["order_id"])
    assert all(c.dose is None for c in got if c.code is not None)


def _receipt(server: Server, resp_json: dict[str, object]) -> Receipt:
    receipt = Receipt.model_validate(resp_json)
    assert verify_receipt(receipt, server.core.public_key)
    return receipt


def test_bad_signature_mid_batch_stores_the_entries_before_it_only(server: Server) -> None:
    tab = server.tablet()
    batch = tab.make(N)
    wire = [e.raw.decode() for e in batch]
    wire[60] = _tampered(batch[60]).decode()
    resp = tab.push(wire)
    assert resp.status_code == 422
    receipt = _receipt(server, resp.json())
    assert receipt.rejections[0].index == 60 and receipt.rejections[0].code == "bad_signature"
    assert {r.code for r in receipt.rejections[1:]} == {"gap"}
    assert [r.index for r in receipt.rejections] == list(range(60, N))
    assert (receipt.stored, receipt.heads["ledger"]) == (60, 60)
    held = server.store.feed(server.facility_id, "ledger", 0, 10_000)
    assert [e.raw for e in held if e.device_id == tab.device_id] == [e.raw for e in batch[:60]]


def test_non_canonical_bytes_mid_batch_are_refused(server: Server) -> None:
    tab = server.tablet()
    batch = tab.make(N)
    wire = [e.raw.decode() for e in batch]
    wire[40] = _non_canonical(batch[40]).decode()
    receipt = _receipt(server, tab.push(wire).json())
    assert (receipt.rejections[0].index, receipt.rejections[0].code) == (40, "malformed")
    assert "not canonical" in receipt.rejections[0].reason
    assert receipt.heads["ledger"] == 40


def test_fork_mid_batch_is_refused_and_alerted_and_the_rest_is_acknowledged(
    server: Server,
) -> None:
    tab = server.tablet()
    first = tab.make(N)
    assert tab.push(first).status_code == 200
    # a re-send of the whole batch with different bytes at seq 71 (a restored clone)
    clone = list(first)
    tab.heads["ledger"] = (70, first[69].digest)
    clone[70] = tab.seal(body={**first[70].body, "note": "clone"}, advance=False)
    resp = tab.push(clone)
    assert resp.status_code == 409
    receipt = _receipt(server, resp.json())
    assert [(r.index, r.code) for r in receipt.rejections] == [(70, "fork")]
    assert (receipt.stored, receipt.duplicates, receipt.heads["ledger"]) == (0, N - 1, N)
    alerts = tab.get("/v1/alerts").json()["alerts"]
    assert [(a["alert_type"], a["device_id"]) for a in alerts] == [("fork", tab.device_id)]
    held = server.store.feed(server.facility_id, "ledger", 0, 10_000)
    assert [e.raw for e in held if e.device_id == tab.device_id] == [e.raw for e in first]
