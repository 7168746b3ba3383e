-- 0013: the witness is proven (docs/architecture.md#the-witness-entry).
--
-- A Schedule II dose or waste references the ``witness.attested`` entry its witness's sign-in
-- wrote; that entry names the record (``record_entry_id``) it was for. These projections pair
-- the two for the history, and hold the explicit ``administration.wasted`` entries. Rebuilt
-- from the ledger like every projection; an older tablet kept such entries unapplied.

CREATE TABLE witness_attestations (
    entry_id            TEXT PRIMARY KEY,
    record_entry_id     TEXT NOT NULL,
    purpose             TEXT NOT NULL,
    device_id           TEXT NOT NULL,  -- the device that signed the entry
    named_device_id     TEXT NOT NULL,  -- the device the body names
    giver_user_id       TEXT NOT NULL,
    witness_user_id     TEXT NOT NULL,
    witness_name        TEXT NOT NULL,
    witness_credentials TEXT NOT NULL,
    authenticated_at    TEXT NOT NULL,
    user_public         TEXT,
    user_signed         INTEGER NOT NULL,  -- 1: the witness's own signature verifies
    stamp               TEXT NOT NULL
);
CREATE INDEX witness_attestations_by_record ON witness_attestations (record_entry_id);

CREATE TABLE dose_wastes (
    entry_id                TEXT PRIMARY KEY,
    administration_entry_id TEXT NOT NULL,
    resident_id             TEXT NOT NULL,
    order_id                TEXT NOT NULL,
    amount                  TEXT NOT NULL,
    unit                    TEXT NOT NULL,
    reason                  TEXT NOT NULL,
    witness_entry_id        TEXT NOT NULL,
    witness_name            TEXT NOT NULL,
    actor_user_id           TEXT NOT NULL,
    device_id               TEXT NOT NULL,
    wasted_at               TEXT NOT NULL,
    stamp                   TEXT NOT NULL
);
CREATE INDEX dose_wastes_by_record ON dose_wastes (administration_entry_id);

INSERT OR REPLACE INTO storage_flags (name, value) VALUES ('rebuild_projections', '1');
