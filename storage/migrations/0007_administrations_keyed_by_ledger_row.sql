-- 0007: each administration is keyed by its entry's row in the ledger (``ledger_rowid``, the
-- table's INTEGER PRIMARY KEY) instead of by ``entry_id TEXT PRIMARY KEY``. The text key needed
-- an index of its own, one more B-tree leaf written and encrypted with every dose recorded
-- (~1.1 of ~12.6 pages a record); the ledger's own unique index on ``id`` already finds the
-- row, and the ledger row's rowid then finds the administration. Ledger rowids never change:
-- rows are never updated or deleted (0001's triggers) and the database is never VACUUMed
-- (rekey and the backup API keep pages as they are).
--
-- The trigger makes the link something the database checks, not something the code promises:
-- a row whose ledger_rowid is not the row of the ledger entry named by its entry_id (including
-- a NULL, which would otherwise be given a fresh rowid) is refused. It is created before the
-- copy, so a record with no ledger entry would fail this migration loudly (nothing changed)
-- rather than be dropped; by construction there is none.

CREATE TABLE administrations_keyed (
    ledger_rowid          INTEGER PRIMARY KEY,
    entry_id              TEXT NOT NULL,
    resident_id           TEXT NOT NULL,
    order_id              TEXT NOT NULL,
    scheduled_for         TEXT,
    administered_at       TEXT NOT NULL,
    recorded_at           TEXT NOT NULL,
    outcome               TEXT NOT NULL,
    actor_user_id         TEXT NOT NULL,
    actor_role            TEXT NOT NULL,
    device_id             TEXT NOT NULL,
    reason_code           TEXT,
    reason_text           TEXT NOT NULL,
    dose_given            TEXT,
    dose_unit             TEXT NOT NULL,
    route                 TEXT NOT NULL,
    site                  TEXT NOT NULL,
    note                  TEXT NOT NULL,
    prn_reason            TEXT NOT NULL,
    pain_score            INTEGER,
    outside_window_reason TEXT NOT NULL,
    witness_user_id       TEXT,
    witness_name          TEXT,
    vitals_json           TEXT NOT NULL
);

CREATE TRIGGER administrations_name_their_ledger_row BEFORE INSERT ON administrations_keyed
WHEN NOT EXISTS (SELECT 1 FROM ledger WHERE rowid = NEW.ledger_rowid AND id = NEW.entry_id)
BEGIN SELECT RAISE(ABORT, 'an administration must name its ledger entry''s row'); END;

CREATE TRIGGER administrations_keep_their_ledger_row BEFORE UPDATE OF ledger_rowid, entry_id
ON administrations_keyed
BEGIN SELECT RAISE(ABORT, 'an administration''s ledger row never changes'); END;

INSERT INTO administrations_keyed
SELECT (SELECT l.rowid FROM ledger l WHERE l.id = a.entry_id), a.entry_id, a.resident_id,
       a.order_id, a.scheduled_for, a.administered_at, a.recorded_at, a.outcome,
       a.actor_user_id, a.actor_role, a.device_id, a.reason_code, a.reason_text, a.dose_given,
       a.dose_unit, a.route, a.site, a.note, a.prn_reason, a.pain_score,
       a.outside_window_reason, a.witness_user_id, a.witness_name, a.vitals_json
FROM administrations a
ORDER BY 1;

DROP TABLE administrations;
ALTER TABLE administrations_keyed RENAME TO administrations;
CREATE INDEX administrations_by_resident ON administrations (resident_id, administered_at);
CREATE INDEX administrations_by_resident_sched ON administrations (resident_id, scheduled_for);
