-- 0009: the last accepted TOTP time step of each account, kept on this device only.
--
-- Until now every accepted code made a new credential version ("totp_used") to remember its
-- step, so signing in wrote a record that sync then carried to every tablet; the same nurse
-- signing in on two tablets between syncs made two versions of the same number, counted as a
-- credential conflict. Sign-in state is not part of the versioned credential records: the step
-- lives here, beside the failure counters (auth_throttle), and is never synced. A code is
-- single-use per time step on this device; the record's own last_totp_step (set at enrolment,
-- and by older tablets at sign-in) still counts, the higher of the two wins.
CREATE TABLE totp_last_step (
    user_id TEXT    PRIMARY KEY,
    step    INTEGER NOT NULL CHECK (step >= 0)
);
