-- 0005: two fewer indexes on administrations. Every query of the table now names residents
-- (storage/read_model_sql.py: an order filter is scoped through the order's resident), so the
-- two by-resident indexes serve them all; the by-order pair only cost two more B-tree pages
-- written and encrypted with every dose recorded. Nothing else changes; no rebuild needed.
DROP INDEX IF EXISTS administrations_by_order;
DROP INDEX IF EXISTS administrations_by_order_given;
