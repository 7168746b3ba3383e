-- 0014: shift assignments (docs/architecture.md#shift-assignment).
--
-- One row per ``shift.assigned`` entry: whom it assigns, the unit, rooms and residents, the
-- shift window and who set it. Which assignment is in force is decided when read (the last
-- ``stamp`` among those whose window holds the moment), so folding does not depend on the
-- order entries arrive in. An older version kept such entries unapplied ("recorded by a newer
-- version"); the store rebuilds its projections on opening with this version then
-- (``newer_entries_held``), which fills this table from them.
CREATE TABLE shift_assignments (
    entry_id          TEXT PRIMARY KEY,
    assignment_id     TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    unit_id           TEXT NOT NULL,
    rooms_json        TEXT NOT NULL,
    resident_ids_json TEXT NOT NULL,
    shift_name        TEXT NOT NULL,
    starts_at         TEXT NOT NULL,
    ends_at           TEXT NOT NULL,
    set_by_user_id    TEXT NOT NULL,
    set_by_role       TEXT NOT NULL,
    note              TEXT NOT NULL,
    recorded_at       TEXT NOT NULL,
    stamp             TEXT NOT NULL
);
CREATE INDEX shift_assignments_by_user ON shift_assignments (user_id, ends_at);
