-- 0003: credential records (people) and this device's sign-in failure counters.
-- Credential records hold password verifiers, TOTP secrets and recovery-code hashes: they live
-- only here (encrypted at rest by SQLCipher) and never in the ledger or audit chains. Each
-- change is a new version; stored versions are never updated or deleted (triggers below).
-- (user_id, version, updated_by_device) is unique so that versions made on two tablets while
-- offline can both be kept when sync brings them together; the winner is the highest
-- (version, updated_at, updated_by_device).

CREATE TABLE credential_records (
    user_id           TEXT    NOT NULL,
    version           INTEGER NOT NULL CHECK (version >= 1),
    updated_at        TEXT    NOT NULL,
    updated_by_device TEXT    NOT NULL,
    record            BLOB    NOT NULL,
    stored_at         TEXT    NOT NULL,
    source            TEXT    NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'sync')),
    PRIMARY KEY (user_id, version, updated_by_device)
);

CREATE TRIGGER credential_records_no_update BEFORE UPDATE ON credential_records
BEGIN SELECT RAISE(ABORT, 'credential records are append-only: UPDATE refused'); END;
CREATE TRIGGER credential_records_no_delete BEFORE DELETE ON credential_records
BEGIN SELECT RAISE(ABORT, 'credential records are append-only: DELETE refused'); END;
CREATE TRIGGER credential_records_no_replace BEFORE INSERT ON credential_records
WHEN EXISTS (
    SELECT 1 FROM credential_records
    WHERE user_id = NEW.user_id AND version = NEW.version
      AND updated_by_device = NEW.updated_by_device
)
BEGIN SELECT RAISE(ABORT, 'credential records are append-only: version already stored'); END;

-- Device-local: consecutive sign-in failures per account on this tablet (never synced).
CREATE TABLE auth_throttle (
    user_id         TEXT    PRIMARY KEY,
    failures        INTEGER NOT NULL CHECK (failures >= 0),
    last_failure_at TEXT,
    locked_at       TEXT
);
