"""Golden vectors: these bytes and hashes are what every signature ever made depends on.

If one of these tests fails, the canonical encoding or the envelope changed and every stored
signature would stop verifying. Do not update the expected values; fix the code.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from mar_desktop.canonical import canonical_bytes, loads
from mar_desktop.chain import check_link, check_signature
from mar_desktop.envelope import GENESIS, Actor, EntryDraft, parse_raw, seal
from mar_desktop.signing import DeviceSigner, load_public_key

SEED = bytes(range(32))
EXPECTED_PUBLIC = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"


def _vector_entry() -> tuple[DeviceSigner, bytes]:
    signer = DeviceSigner.from_private_bytes(SEED)
    draft = EntryDraft(
        kind="administration.recorded",
        actor=Actor(user_id="u-1", role="nurse"),
        body={"v": 1, "dose_given": "2.5", "note": "Zoë ✓", "outcome": "given", "b": [1, None]},
        entry_id="01890a5d-ac96-774b-bcce-b302099a8057",
    )
    entry = seal(
        draft,
        facility_id="f-1",
        device_id="d-1",
        seq=1,
        prev=GENESIS,
        recorded_at=datetime(2026, 3, 8, 7, 30, 0, 123456, tzinfo=UTC),
        signer=signer,
    )
    return signer, entry.raw


def test_canonical_bytes_golden() -> None:
    value = {"b": [1, "é", None, True], "a": {"z": "1.50", "y": -3}, "é": ""}
    assert canonical_bytes(value) == (
        b'{"a":{"y":-3,"z":"1.50"},"b":[1,"\xc3\xa9",null,true],"\xc3\xa9":""}'
    )


def test_canonical_refuses_floats_and_nan() -> None:
    with pytest.raises(TypeError, match="float"):
        canonical_bytes({"dose": 2.5})
    with pytest.raises(ValueError, match="float"):
        loads(b'{"dose":2.5}')
    with pytest.raises(TypeError):
        canonical_bytes({"when": datetime.now(UTC)})


def test_public_key_from_seed_golden() -> None:
    assert DeviceSigner.from_private_bytes(SEED).public_hex == EXPECTED_PUBLIC


def test_entry_raw_bytes_and_digest_golden() -> None:
    _, raw = _vector_entry()
    signed_prefix = (
        '{"actor":{"role":"nurse","user_id":"u-1"},"body":{"b":[1,null],"dose_given":"2.5",'
        '"note":"Zoë ✓","outcome":"given","v":1},"device_id":"d-1","facility_id":"f-1",'
        '"id":"01890a5d-ac96-774b-bcce-b302099a8057","kind":"administration.recorded",'
        '"prev":"' + "0" * 64 + '","recorded_at":"2026-03-08T07:30:00.123456Z","seq":1,"sig":"'
    ).encode()
    assert raw.startswith(signed_prefix)
    assert raw.endswith(b'"}')
    # Ed25519 is deterministic: the same key and bytes always give this signature and digest.
    assert hashlib.sha256(raw).hexdigest() == GOLDEN_DIGEST


GOLDEN_DIGEST = "26d30054f0a348503c6b9bf0641a6b50a957d31feac4558630534793e889263a"


def test_signature_verifies_and_detects_any_flip() -> None:
    signer, raw = _vector_entry()
    public = load_public_key(signer.public_hex)
    assert check_signature(raw, public)
    for index in range(0, len(raw), 7):
        flipped = bytearray(raw)
        flipped[index] ^= 0x01
        assert not _verifies(bytes(flipped), public), f"flip at byte {index} not detected"


def _verifies(raw: bytes, public: object) -> bool:
    try:
        return check_signature(raw, public)  # type: ignore[arg-type]
    except ValueError:
        return False


def test_parse_round_trip_and_refuses_non_canonical() -> None:
    _, raw = _vector_entry()
    entry = parse_raw(raw)
    assert entry.raw == raw and entry.seq == 1 and entry.body["dose_given"] == "2.5"
    with pytest.raises(ValueError, match="canonical"):
        parse_raw(raw.replace(b'"seq":1', b'"seq": 1'))
    with pytest.raises(ValueError, match="fields"):
        parse_raw(b'{"id":"x"}')


def test_chain_link_checks() -> None:
    _, raw = _vector_entry()
    entry = parse_raw(raw)
    ok = check_link(entry, expected_seq=1, expected_prev=GENESIS, device_id="d-1", chain="ledger")
    assert ok is None
    gap = check_link(entry, expected_seq=0, expected_prev=GENESIS, device_id="d-1", chain="ledger")
    assert gap is not None and "gap" in gap
    again = check_link(
        entry, expected_seq=2, expected_prev=GENESIS, device_id="d-1", chain="ledger"
    )
    assert again is not None and "repeats" in again
    broken = check_link(
        entry, expected_seq=1, expected_prev="1" * 64, device_id="d-1", chain="ledger"
    )
    assert broken is not None and "prev" in broken
    wrong_chain = check_link(
        entry, expected_seq=1, expected_prev=GENESIS, device_id="d-1", chain="audit"
    )
    assert wrong_chain is not None and "chain" in wrong_chain


def test_canonical_fast_path_still_finds_deep_floats_and_accepts_str_enums() -> None:
    from mar_desktop.model import Role

    with pytest.raises(TypeError, match=r"\$\.a\[1\]\.b"):
        canonical_bytes({"a": [1, {"b": 1.5}]})
    with pytest.raises(TypeError, match="non-string key"):
        canonical_bytes({"a": {1: "x"}})
    assert canonical_bytes({"r": Role.NURSE, "t": ("x", None)}) == b'{"r":"nurse","t":["x",null]}'


def test_signer_gives_openssl_signatures_byte_for_byte() -> None:
    """The signer signs with libsodium; the bytes must equal OpenSSL's for any key and message
    (RFC 8032 signatures are deterministic), or entries signed before the switch, or by
    another build, would differ from what this build makes."""
    import os

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    for size in (0, 1, 63, 64, 1235, 5000):
        seed = os.urandom(32)
        message = os.urandom(size)
        expected = Ed25519PrivateKey.from_private_bytes(seed).sign(message)
        signer = DeviceSigner.from_private_bytes(seed)
        assert signer.sign(message) == expected
        assert load_public_key(signer.public_hex).verify(expected, message)


def test_signer_refuses_a_key_pair_the_two_libraries_derive_differently(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If libsodium ever derived another public key from the seed than OpenSSL, the signer
    would sign entries that the registered key does not verify: it refuses to exist."""
    import mar_desktop.signing as signing

    real = signing.crypto_sign_seed_keypair
    monkeypatch.setattr(signing, "crypto_sign_seed_keypair", lambda seed: real(seed[::-1]))
    with pytest.raises(ValueError, match="derived consistently"):
        DeviceSigner.generate()
