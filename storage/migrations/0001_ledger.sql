-- 0001: the append-only ledger and audit chains, device keys and this device's identity.
-- Stored entries are never updated or deleted: the triggers below refuse it, and INSERT is
-- refused for a row whose id or (device_id, seq) already exists, so INSERT OR REPLACE cannot
-- delete a row behind the DELETE trigger's back.

CREATE TABLE ledger (
    id          TEXT    NOT NULL UNIQUE,
    device_id   TEXT    NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    kind        TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    raw         BLOB    NOT NULL,
    digest      TEXT    NOT NULL,
    UNIQUE (device_id, seq)
);

CREATE TABLE audit (
    id          TEXT    NOT NULL UNIQUE,
    device_id   TEXT    NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    kind        TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    raw         BLOB    NOT NULL,
    digest      TEXT    NOT NULL,
    UNIQUE (device_id, seq)
);

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only: UPDATE refused'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only: DELETE refused'); END;
CREATE TRIGGER ledger_no_replace BEFORE INSERT ON ledger
WHEN EXISTS (SELECT 1 FROM ledger WHERE id = NEW.id)
  OR EXISTS (SELECT 1 FROM ledger WHERE device_id = NEW.device_id AND seq = NEW.seq)
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only: entry already stored'); END;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: UPDATE refused'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: DELETE refused'); END;
CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit
WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)
  OR EXISTS (SELECT 1 FROM audit WHERE device_id = NEW.device_id AND seq = NEW.seq)
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: entry already stored'); END;

-- Public keys of every device whose entries this database holds (own device at creation,
-- others from device.enrolled entries and sync). A device's key never changes.
CREATE TABLE device_keys (
    device_id     TEXT PRIMARY KEY,
    public_key    TEXT NOT NULL CHECK (length(public_key) = 64),
    label         TEXT NOT NULL DEFAULT '',
    registered_at TEXT NOT NULL,
    source        TEXT NOT NULL DEFAULT 'local'
);

CREATE TRIGGER device_keys_no_rekey BEFORE UPDATE OF public_key, device_id ON device_keys
BEGIN SELECT RAISE(ABORT, 'a device key never changes'); END;
CREATE TRIGGER device_keys_no_delete BEFORE DELETE ON device_keys
BEGIN SELECT RAISE(ABORT, 'device keys are kept: past entries stay verifiable'); END;

-- This device: its id, facility and private signing key (the database is encrypted at rest).
CREATE TABLE local_device (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    device_id   TEXT NOT NULL,
    facility_id TEXT NOT NULL,
    signing_key BLOB NOT NULL CHECK (length(signing_key) = 32),
    created_at  TEXT NOT NULL
);
