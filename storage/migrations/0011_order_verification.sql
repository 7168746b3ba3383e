-- 0010: order verification (docs/architecture.md#order-verification).
--
-- An order records who entered it, whether it must be verified, whether a change acts at once
-- (a reduction) or waits, which order it changes and, for an import, the pharmacy's original
-- values. Verifications, returns and the server's one upgrade entry are rows of their own,
-- keyed by the entry that made them and joined when read (so folding does not depend on the
-- order entries arrive in). Urgent doses on unverified orders are flagged by target record.
-- Orders stored before this version are rebuilt from the ledger: they are awaiting
-- verification until the server's ``order.verified_at_upgrade`` entry names them.
ALTER TABLE orders ADD COLUMN author_user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN verification TEXT NOT NULL DEFAULT 'required';
ALTER TABLE orders ADD COLUMN acts_at_once INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN replaces_order_id TEXT;
ALTER TABLE orders ADD COLUMN source TEXT NOT NULL DEFAULT 'hand';
ALTER TABLE orders ADD COLUMN source_json TEXT NOT NULL DEFAULT '[]';
CREATE INDEX orders_by_replaced ON orders (replaces_order_id) WHERE replaces_order_id IS NOT NULL;

-- Who entered each hold/resume/discontinuation (verified afterwards).
ALTER TABLE order_events ADD COLUMN author_user_id TEXT NOT NULL DEFAULT '';

-- decision: 'verified' | 'returned' (by a person) | 'upgrade' (the server's one entry).
CREATE TABLE order_checks (
    entry_id        TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    target_entry_id TEXT NOT NULL,
    decision        TEXT NOT NULL CHECK (decision IN ('verified', 'returned', 'upgrade')),
    actor_user_id   TEXT NOT NULL,
    actor_role      TEXT NOT NULL,
    reason          TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    stamp           TEXT NOT NULL,
    PRIMARY KEY (entry_id, order_id)
);
CREATE INDEX order_checks_by_order ON order_checks (order_id, stamp);
CREATE INDEX order_checks_by_target ON order_checks (target_entry_id);

CREATE TABLE urgent_doses (
    entry_id                TEXT PRIMARY KEY,
    administration_entry_id TEXT NOT NULL,
    resident_id             TEXT NOT NULL,
    order_id                TEXT NOT NULL,
    reason                  TEXT NOT NULL,
    second_user_id          TEXT NOT NULL,
    second_name             TEXT NOT NULL,
    actor_user_id           TEXT NOT NULL,
    recorded_at             TEXT NOT NULL,
    stamp                   TEXT NOT NULL
);
CREATE INDEX urgent_doses_by_record ON urgent_doses (administration_entry_id);
CREATE INDEX urgent_doses_by_time ON urgent_doses (recorded_at);

-- Last writer wins, like the settings: whether hand-entered orders need verification.
ALTER TABLE facility ADD COLUMN verify_hand_entered INTEGER;
ALTER TABLE facility ADD COLUMN verify_stamp TEXT;

INSERT OR REPLACE INTO storage_flags (name, value) VALUES ('rebuild_projections', '1');
