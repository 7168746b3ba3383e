-- 0002: projections, the current state folded from the ledger (storage/projections.py).
-- Every row here can be rebuilt from the ledger at any time. Folding does not depend on the
-- order entries arrive in: last-writer-wins records keep the ``stamp`` of the entry that set
-- them ("<recorded_at>|<device_id>|<seq 12 digits>") and only a later stamp overwrites;
-- events that refer to other entries (voids, amendments, follow-ups, acknowledgements, order
-- holds) are rows of their own keyed by the target and joined when read.
-- Times are utc_iso() text (fixed width, so text order is time order).

CREATE TABLE storage_flags (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- The migration runner rebuilds the projections (once the schema is current) while this is set.
INSERT OR REPLACE INTO storage_flags (name, value) VALUES ('rebuild_projections', '1');

CREATE TABLE facility (
    singleton      INTEGER PRIMARY KEY CHECK (singleton = 1),
    facility_id    TEXT,
    name           TEXT,
    timezone       TEXT,
    facility_json  TEXT,
    stamp          TEXT,
    settings_json  TEXT,
    settings_stamp TEXT
);

CREATE TABLE units (
    unit_id   TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    unit_json TEXT NOT NULL,
    stamp     TEXT NOT NULL
);

-- Three independently last-writer-wins parts: demographics (admitted/updated), location
-- (admitted/transferred) and active status (admitted/discharged).
CREATE TABLE residents (
    resident_id   TEXT PRIMARY KEY,
    resident_json TEXT,
    family_name   TEXT,
    given_name    TEXT,
    wristband_id  TEXT,
    demo_unit_id  TEXT,
    demo_room     TEXT,
    demo_stamp    TEXT,
    unit_id       TEXT,
    room          TEXT,
    loc_stamp     TEXT,
    active        INTEGER,
    active_stamp  TEXT,
    eff_unit_id   TEXT GENERATED ALWAYS AS (coalesce(unit_id, demo_unit_id)) VIRTUAL
);
CREATE INDEX residents_by_unit ON residents (eff_unit_id);
CREATE INDEX residents_by_wristband ON residents (wristband_id);

CREATE TABLE orders (
    order_id             TEXT PRIMARY KEY,
    resident_id          TEXT NOT NULL,
    drug                 TEXT NOT NULL,
    is_prn               INTEGER NOT NULL,
    prn_followup_minutes INTEGER,
    order_json           TEXT NOT NULL,
    entry_id             TEXT NOT NULL,
    stamp                TEXT NOT NULL
);
CREATE INDEX orders_by_resident ON orders (resident_id, drug, order_id);

-- held / resumed / discontinued (also the discontinuation half of order.changed).
CREATE TABLE order_events (
    entry_id     TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL,
    event        TEXT NOT NULL CHECK (event IN ('held', 'resumed', 'discontinued')),
    effective_at TEXT NOT NULL,
    reason       TEXT NOT NULL,
    replaced_by  TEXT,
    stamp        TEXT NOT NULL
);
CREATE INDEX order_events_by_order ON order_events (order_id, effective_at, stamp);

CREATE TABLE users (
    user_id   TEXT PRIMARY KEY,
    username  TEXT NOT NULL,
    role      TEXT NOT NULL,
    active    INTEGER NOT NULL,
    user_json TEXT NOT NULL,
    stamp     TEXT NOT NULL
);
CREATE INDEX users_by_username ON users (username);

CREATE TABLE administrations (
    entry_id              TEXT PRIMARY KEY,
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
    vitals_json           TEXT NOT NULL,
    body_json             TEXT NOT NULL
);
CREATE INDEX administrations_by_order ON administrations (order_id, scheduled_for);
CREATE INDEX administrations_by_order_given ON administrations (order_id, administered_at);
CREATE INDEX administrations_by_resident ON administrations (resident_id, administered_at);
CREATE INDEX administrations_by_resident_sched ON administrations (resident_id, scheduled_for);

CREATE TABLE voids (
    entry_id        TEXT PRIMARY KEY,
    target_entry_id TEXT NOT NULL,
    reason          TEXT NOT NULL,
    actor_user_id   TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    stamp           TEXT NOT NULL
);
CREATE INDEX voids_by_target ON voids (target_entry_id, stamp);

CREATE TABLE amendments (
    entry_id        TEXT PRIMARY KEY,
    target_entry_id TEXT NOT NULL,
    author_user_id  TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    text            TEXT NOT NULL,
    stamp           TEXT NOT NULL
);
CREATE INDEX amendments_by_target ON amendments (target_entry_id, stamp);

CREATE TABLE prn_followups (
    entry_id        TEXT PRIMARY KEY,
    target_entry_id TEXT NOT NULL,
    effective       TEXT NOT NULL,
    pain_score      INTEGER,
    note            TEXT NOT NULL,
    assessed_at     TEXT NOT NULL,
    actor_user_id   TEXT NOT NULL,
    stamp           TEXT NOT NULL
);
CREATE INDEX prn_followups_by_target ON prn_followups (target_entry_id, assessed_at);

CREATE TABLE alerts (
    alert_id     TEXT PRIMARY KEY,
    entry_id     TEXT NOT NULL,
    alert_type   TEXT NOT NULL,
    raised_at    TEXT NOT NULL,
    resident_id  TEXT,
    order_id     TEXT,
    device_id    TEXT,
    detail       TEXT NOT NULL,
    related_json TEXT NOT NULL,
    stamp        TEXT NOT NULL
);

CREATE TABLE alert_acks (
    entry_id  TEXT PRIMARY KEY,
    alert_id  TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    acked_at  TEXT NOT NULL,
    comment   TEXT NOT NULL,
    stamp     TEXT NOT NULL
);
CREATE INDEX alert_acks_by_alert ON alert_acks (alert_id, stamp);
