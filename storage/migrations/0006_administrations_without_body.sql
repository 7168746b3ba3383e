-- 0006: administrations no longer keep a copy of the entry's body. Nothing read it (the read
-- model and the reports take the projected columns; the body itself is in the ledger row), and
-- at ~0.8 kB it was a quarter of what every recorded dose wrote: more B-tree page splits, more
-- encrypted WAL frames per commit, and a larger database. SQLite rewrites the table's rows in
-- place; the ledger, the other projections and every index are untouched.
ALTER TABLE administrations DROP COLUMN body_json;
