"""Envelope parsing and chain checks, field by field and refusal by refusal (the golden vectors
are in ``test_envelope_vectors.py``)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from mar_desktop import canonical
from mar_desktop.canonical import canonical_bytes
from mar_desktop.chain import ChainFailure, ChainReport, check_link, check_signature, digest
from mar_desktop.envelope import (
    GENESIS,
    Actor,
    Entry,
    EntryDraft,
    chain_of,
    parse_raw,
    seal,
    signed_part,
)
from mar_desktop.signing import DeviceSigner, load_public_key

SIGNER = DeviceSigner.from_private_bytes(bytes(range(32)))
AT = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def sealed(body: dict[str, Any] | None = None, kind: str = "administration.recorded") -> Entry:
    draft = EntryDraft(
        kind=kind,
        actor=Actor(user_id="u-1", role="nurse"),
        body={"v": 1} if body is None else body,
        entry_id="01890a5d-ac96-774b-bcce-b302099a8057",
    )
    return seal(
        draft,
        facility_id="f-1",
        device_id="d-1",
        seq=3,
        prev="a" * 64,
        recorded_at=AT,
        signer=SIGNER,
    )


def test_chain_of_kind() -> None:
    assert chain_of("audit.login") == "audit"
    assert chain_of("administration.recorded") == "ledger"
    assert chain_of("auditing.other") == "ledger"
    assert sealed(kind="audit.login").chain == "audit"


def test_seal_fills_every_field_and_parse_gives_the_same_entry() -> None:
    entry = sealed()
    assert (entry.id, entry.facility_id, entry.device_id, entry.seq, entry.prev) == (
        "01890a5d-ac96-774b-bcce-b302099a8057",
        "f-1",
        "d-1",
        3,
        "a" * 64,
    )
    assert (entry.recorded_at, entry.kind) == (
        "2026-03-08T07:30:00.000000Z",
        "administration.recorded",
    )
    assert (entry.actor, entry.body) == ({"role": "nurse", "user_id": "u-1"}, {"v": 1})
    assert len(entry.sig) == 128
    assert parse_raw(entry.raw) == entry
    assert parse_raw(entry.raw, known_canonical=True) == entry


def test_signed_bytes_are_the_raw_bytes_without_the_signature() -> None:
    entry = sealed()
    without_sig = {k: v for k, v in canonical.loads(entry.raw).items() if k != "sig"}
    assert entry.signed_bytes() == canonical_bytes(without_sig) == signed_part(entry.raw)
    assert entry.digest == hashlib.sha256(entry.raw).hexdigest() == digest(entry.raw)


def test_a_body_with_a_sig_key_does_not_confuse_the_signature_cut() -> None:
    entry = sealed({"a": 1, "sig": "00"})
    assert b',"sig":"00"' in entry.raw
    without_sig = {k: v for k, v in canonical.loads(entry.raw).items() if k != "sig"}
    assert signed_part(entry.raw) == canonical_bytes(without_sig)
    assert check_signature(entry.raw, load_public_key(SIGNER.public_hex))


def test_signature_of_bytes_without_one_or_with_bad_hex() -> None:
    public = load_public_key(SIGNER.public_hex)
    assert not check_signature(b'{"a":1}', public)
    entry = sealed()
    assert not check_signature(entry.raw[:-130] + b"zz" * 64 + b'"}', public)
    with pytest.raises(ValueError, match="no signature"):
        signed_part(b'{"a":1}')


def _raw_with(**changes: Any) -> bytes:
    data = canonical.loads(sealed().raw)
    data.update(changes)
    return canonical_bytes(data)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seq": 0}, "seq must be a positive integer"),
        ({"seq": True}, "seq must be a positive integer"),
        ({"seq": "1"}, "seq must be a positive integer"),
        ({"kind": 1}, "kind must be a string"),
        ({"actor": []}, "actor and body must be objects"),
        ({"body": []}, "actor and body must be objects"),
    ],
)
def test_parse_refuses_each_bad_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_raw(_raw_with(**changes))


def test_parse_accepts_seq_one() -> None:
    assert parse_raw(_raw_with(seq=1)).seq == 1


def test_check_link_reasons() -> None:
    entry = sealed()
    args: dict[str, Any] = {
        "expected_seq": 3,
        "expected_prev": "a" * 64,
        "device_id": "d-1",
        "chain": "ledger",
    }
    assert check_link(entry, **args) is None
    assert check_link(entry, **{**args, "device_id": "d-2"}) == "belongs to device d-1"
    assert (
        check_link(entry, **{**args, "chain": "audit"})
        == "kind 'administration.recorded' belongs to the ledger chain"
    )
    assert check_link(entry, **{**args, "expected_seq": 2}) == "follows a gap: expected seq 2"
    assert check_link(entry, **{**args, "expected_seq": 4}) == "repeats or reorders: expected seq 4"
    assert (
        check_link(entry, **{**args, "expected_prev": GENESIS})
        == "does not link to the previous entry (prev hash mismatch)"
    )


def test_chain_report_summary() -> None:
    assert ChainReport(entries=5, chains=2, failure=None).ok
    assert (
        ChainReport(entries=5, chains=2, failure=None).summary()
        == "OK: 5 entries in 2 chains verified"
    )
    failure = ChainFailure(device_id="d-1", chain="audit", seq=4, entry_id="e-4", reason="x")
    report = ChainReport(entries=5, chains=2, failure=failure)
    assert not report.ok
    assert report.summary() == "FAILED: audit chain of device d-1: entry seq 4 (id e-4) x"


def test_the_installed_orjson_agrees_with_the_reference_encoder() -> None:
    assert canonical._orjson_agrees() is True
