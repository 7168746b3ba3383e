"""The body text that ``validated_body`` parses (a pulled or rebuilt entry's body) must be the
body's canonical encoding, whatever the body and the actor hold."""

from __future__ import annotations

from mar_desktop.canonical import canonical_text
from mar_desktop.envelope import Actor, EntryDraft, seal
from mar_desktop.signing import DeviceSigner
from storage.local_store import LocalStore
from storage.projection_plan import body_json_of
from tests import factories as f
from tests.storage.helpers import mixed_history


def test_body_json_equals_encoding_the_body_for_a_mixed_history(store: LocalStore) -> None:
    mixed_history(store.ledger)
    conn = store.connect_reader()
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM ledger ORDER BY rowid")]
    finally:
        conn.close()
    for entry_id in ids:
        entry = store.ledger.entry(entry_id)
        assert entry is not None
        assert body_json_of(entry) == canonical_text(entry.body)


def test_body_json_is_exact_for_tricky_bodies_and_actors() -> None:
    signer = DeviceSigner.generate()
    tricky = [
        {"device_id": "x", "note": ',"device_id":"y', "nested": {"body": {"device_id": "z"}}},
        {"text": 'quote " backslash \\ unicode é 💊 \u2028', "n": 12345678901234567890},
        {},
    ]
    actors = [Actor("u-1", "nurse"), Actor('u,"body":{}', 'r"')]
    for body in tricky:
        for actor in actors:
            draft = EntryDraft("note.amended", actor, body)
            entry = seal(
                draft,
                facility_id="fac-1",
                device_id="dev-1",
                seq=1,
                prev="0" * 64,
                recorded_at=f.T0,
                signer=signer,
            )
            assert body_json_of(entry) == canonical_text(entry.body)
