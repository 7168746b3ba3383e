-- 0014: reserved. This number belongs to a change made in parallel; this file keeps the
-- numbers contiguous until that change is merged, and is then replaced by it. It changes nothing.
SELECT 1;
