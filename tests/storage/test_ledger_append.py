"""Ledger.append: sealing, chains, durability across reopen, all-or-nothing, ingest."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from mar_desktop import kinds
from mar_desktop.chain import check_signature
from mar_desktop.clock import FakeClock
from mar_desktop.envelope import GENESIS, EntryDraft, parse_raw
from mar_desktop.errors import Conflict, IntegrityError, ValidationError
from mar_desktop.model import Unit
from mar_desktop.signing import load_public_key
from storage.local_store import LocalStore
from tests import factories as f


def test_append_numbers_links_and_signs_both_chains(store: LocalStore) -> None:
    drafts, _ = f.small_facility(1)
    entries = store.ledger.append([*drafts, f.audit("login"), f.audit("view_resident")])
    ledger = [e for e in entries if e.chain == "ledger"]
    audit = [e for e in entries if e.chain == "audit"]
    assert [e.seq for e in ledger] == list(range(1, len(ledger) + 1))
    assert [e.seq for e in audit] == [1, 2]
    assert ledger[0].prev == GENESIS
    assert audit[0].prev == GENESIS
    for chain in (ledger, audit):
        for before, after in itertools.pairwise(chain):
            assert after.prev == before.digest
    public = load_public_key(store.ledger.public_key_hex)
    assert all(check_signature(e.raw, public) for e in entries)
    assert {e.device_id for e in entries} == {store.device_id}
    assert {e.facility_id for e in entries} == {"fac-1"}
    assert store.ledger.head("ledger") == (len(ledger), ledger[-1].digest)
    assert store.ledger.entry(audit[1].id) == audit[1]
    assert store.ledger.entry("no-such-id") is None


def test_entries_survive_reopen_and_chain_continues(
    tmp_path: Path, db_key: bytes, fake_clock: FakeClock
) -> None:
    data = tmp_path / "data"
    first = LocalStore.create(data, db_key, "fac-1", fake_clock)
    drafts, _ = f.small_facility(1)
    stored = first.ledger.append(drafts)
    device = first.device_id
    first.close()
    second = LocalStore.open(data, db_key, fake_clock)
    try:
        assert second.device_id == device
        assert second.ledger.entry(stored[-1].id) == stored[-1]
        [more] = second.ledger.append([f.unit(name="South Wing")])
        assert more.seq == stored[-1].seq + 1
        assert more.prev == stored[-1].digest
    finally:
        second.close()


def test_stored_body_is_the_validated_model_json(store: LocalStore) -> None:
    drafts, ids = f.small_facility(1)
    store.ledger.append(drafts)
    raw = f.administration(ids["resident_ids"][0], ids["order_ids"][0])
    body = dict(raw.body, administered_at="2026-01-05T09:00:00+01:00")
    [entry] = store.ledger.append([EntryDraft(raw.kind, raw.actor, body)])
    assert entry.body["administered_at"] == "2026-01-05T08:00:00Z"
    assert parse_raw(entry.raw) == entry


def _row_counts(store: LocalStore) -> dict[str, int]:
    conn = store.connect_reader()
    try:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("ledger", "audit", "residents", "administrations")
        }
    finally:
        conn.close()


def test_invalid_draft_in_a_batch_stores_nothing(store: LocalStore) -> None:
    drafts, ids = f.small_facility(1)
    store.ledger.append(drafts)
    heads = (store.ledger.head("ledger"), store.ledger.head("audit"))
    before = _row_counts(store)
    good = f.administration(ids["resident_ids"][0], ids["order_ids"][0])
    bad = EntryDraft(good.kind, good.actor, dict(good.body, outcome="teleported"))
    with pytest.raises(ValidationError):
        store.ledger.append([good, f.audit("administration"), bad])
    assert _row_counts(store) == before
    assert (store.ledger.head("ledger"), store.ledger.head("audit")) == heads


def test_database_failure_mid_batch_rolls_back_and_keeps_heads(store: LocalStore) -> None:
    drafts, ids = f.small_facility(1)
    store.ledger.append(drafts)
    first = f.administration(ids["resident_ids"][0], ids["order_ids"][0])
    [stored] = store.ledger.append([first])
    heads = (store.ledger.head("ledger"), store.ledger.head("audit"))
    before = _row_counts(store)
    again = f.administration(ids["resident_ids"][0], ids["order_ids"][0], entry_id=stored.id)
    with pytest.raises(Conflict):
        store.ledger.append([f.audit("administration"), f.unit(), again])
    assert _row_counts(store) == before
    assert (store.ledger.head("ledger"), store.ledger.head("audit")) == heads
    [after] = store.ledger.append([f.unit()])
    assert after.seq == heads[0][0] + 1
    assert after.prev == heads[0][1]


def test_unknown_kind_is_refused(store: LocalStore) -> None:
    with pytest.raises(ValidationError):
        store.ledger.append([EntryDraft("dose.teleported", f.NURSE, {"v": 1})])


def test_concurrent_appends_from_many_threads_keep_gapless_chains(store: LocalStore) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                store.ledger.append([f.unit(), f.audit("login")])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    conn = store.connect_reader()
    try:
        for table in ("ledger", "audit"):
            seqs = [r[0] for r in conn.execute(f"SELECT seq FROM {table} ORDER BY seq")]
            assert seqs == list(range(1, 41))
    finally:
        conn.close()


def _other_device_entries(tmp_path: Path, db_key: bytes) -> tuple[LocalStore, list]:
    other = LocalStore.create(tmp_path / "other", db_key, "fac-1", FakeClock())
    drafts, ids = f.small_facility(1)
    entries = other.ledger.append(drafts)
    entries += other.ledger.append(
        [f.administration(ids["resident_ids"][0], ids["order_ids"][0]), f.audit("administration")]
    )
    return other, entries


def test_ingest_is_idempotent_and_projects(
    store: LocalStore, tmp_path: Path, db_key: bytes
) -> None:
    other, entries = _other_device_entries(tmp_path, db_key)
    other.close()
    assert store.ledger.ingest(entries) == len(entries)
    assert store.ledger.ingest(entries) == 0
    reader = store.reader()
    assert len(reader.residents()) == 1
    since = f.T0 - timedelta(hours=1)
    [record] = reader.administrations(since=since, until=since + timedelta(hours=2))
    assert record.device_id == entries[0].device_id
    # our own chain is untouched by foreign entries
    assert store.ledger.head("ledger") == (0, GENESIS)


def test_ingest_refuses_changed_bytes_and_forks(
    store: LocalStore, tmp_path: Path, db_key: bytes
) -> None:
    other, entries = _other_device_entries(tmp_path, db_key)
    store.ledger.ingest(entries[:3])
    twin = other.ledger.append([f.unit()])[0]  # a real entry ...
    other.close()
    forged = parse_raw(twin.raw.replace(b'"seq":' + str(twin.seq).encode(), b'"seq":3'))
    with pytest.raises(IntegrityError):
        store.ledger.ingest([*entries[3:], forged])
    assert store.ledger.ingest(entries[3:]) == len(entries) - 3


def test_a_draft_made_from_a_model_is_stored_as_its_json(store: LocalStore) -> None:
    body = kinds.UnitCreated(unit=Unit(unit_id="u-model", name="East Wing"))
    made = kinds.draft(kinds.UNIT_CREATED, f.NURSE, body)
    assert made.model is body and made.body == kinds.body_json(body)
    [entry] = store.ledger.append([made])
    assert entry.body == kinds.body_json(body)
    assert [u.name for u in store.reader().units()] == ["East Wing"]


def test_a_draft_whose_model_is_not_its_kinds_is_validated_as_a_dict(store: LocalStore) -> None:
    wrong = kinds.UnitCreated(unit=Unit(unit_id="u-x", name="East Wing"))
    good = f.audit("login")
    # a model of another kind is ignored: the body itself is validated as an audit event
    odd = EntryDraft(good.kind, good.actor, good.body, model=wrong)
    [entry] = store.ledger.append([odd])
    assert entry.body == good.body
    bad = EntryDraft(good.kind, good.actor, {"nonsense": 1}, model=wrong)
    with pytest.raises(ValidationError):
        store.ledger.append([bad])


def test_kinds_draft_refuses_a_model_of_another_kind() -> None:
    body = kinds.UnitCreated(unit=Unit(unit_id="u-y", name="East Wing"))
    with pytest.raises(ValidationError, match="UnitCreated"):
        kinds.draft(kinds.RESIDENT_ADMITTED, f.NURSE, body)
