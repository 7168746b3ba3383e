-- 0010: a tablet that started from a server snapshot (docs/architecture.md#a-new-tablet).
--
-- A new tablet no longer reads every entry ever written before its first dose: it stores the
-- facility's current-state entries from a snapshot the server signed, reads the recent feed,
-- and fills in the rest of the history it keeps in the background, from the newest entry
-- down. These tables say how far that has got. A tablet that read the whole feed (enrolled
-- before this version, or with an older server) has no row here: its history is complete.
-- Nothing here is clinical data, and no ledger row is ever deleted.

-- The snapshot this tablet started from (one row). ``manifest`` is the server-signed manifest
-- exactly as received (verify re-checks its signature). ``backfill_before``: every ledger
-- entry of the feed at a position >= this one is held (the tail and what backfill has
-- stored); backfill reads downward from it to ``history_from`` + 1. ``complete_from``: the
-- recorded time from which the held history is complete (prints and exports of earlier
-- windows are refused). ``status``: backfilling, complete, or mismatch (the chains disagreed
-- with the snapshot once history was complete; an alert was raised through the server).
CREATE TABLE sync_snapshot (
    singleton       INTEGER PRIMARY KEY CHECK (singleton = 1),
    manifest        TEXT    NOT NULL,
    checkpoint      INTEGER NOT NULL CHECK (checkpoint >= 0),
    tail_after      INTEGER NOT NULL CHECK (tail_after >= 0),
    history_from    INTEGER NOT NULL CHECK (history_from >= 0),
    backfill_before INTEGER NOT NULL CHECK (backfill_before >= 0),
    complete_from   TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('backfilling', 'complete', 'mismatch')),
    detail          TEXT,
    started_at      TEXT    NOT NULL,
    finished_at     TEXT
);

-- Each device's ledger chain as the snapshot proved it. ``anchor_seq``/``anchor_digest``: the
-- device's last entry at or before the snapshot's tail (signed by the server in the
-- manifest); the tail pulled after it must link to it. ``low_seq``: the lowest seq of the run
-- of this device's chain held without a gap up to its head; ``low_prev``: the digest the entry
-- just below it must have (backfill stores that entry next; GENESIS once seq 1 is held).
CREATE TABLE sync_chain_anchor (
    device_id     TEXT    PRIMARY KEY,
    anchor_seq    INTEGER NOT NULL CHECK (anchor_seq >= 0),
    anchor_digest TEXT    NOT NULL CHECK (length(anchor_digest) = 64),
    low_seq       INTEGER NOT NULL CHECK (low_seq >= 1),
    low_prev      TEXT    NOT NULL CHECK (length(low_prev) = 64)
);
