-- 0008: the by-schedule index holds only the doses given (or refused, held…) more than 12 hours
-- from their scheduled time, instead of every scheduled dose.
--
-- The read model finds "records whose administered_at or scheduled_for lies in [since, until)"
-- (storage/read_model_sql.py). The by-time index (resident_id, administered_at) finds every
-- record given in the range, and every record given within 12 hours of a scheduled time in the
-- range, when the range is widened by 12 hours and a minute on each side. Only a dose recorded
-- for a slot more than 12 hours away (a late entry for yesterday's dose, say) needs the
-- by-schedule index, so only such rows are in it. Almost every dose recorded therefore writes
-- one index leaf fewer (~1.2 of ~11.4 encrypted pages a record).
--
-- The index's condition and the queries' conditions are the same expression, computed by the
-- database from the row itself: no column or code can disagree with it. A time julianday()
-- cannot read (never written: the ledger's one format is utc_iso) counts as far, so such a row
-- is in the index and still found. julianday() keeps milliseconds: a row counted near is at
-- most 12 hours and a millisecond from its slot, inside the minute of slack the queries add.

DROP INDEX administrations_by_resident_sched;

CREATE INDEX administrations_far_from_schedule ON administrations (resident_id, scheduled_for)
WHERE scheduled_for IS NOT NULL
  AND NOT coalesce(abs(julianday(administered_at) - julianday(scheduled_for)) <= 0.5, 0);
