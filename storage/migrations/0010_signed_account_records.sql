-- 0010: account records version 2, signed statements (docs/architecture.md#credentials).
--
-- Every account change is now a statement signed by the user or by a facility admin (admin
-- changes also co-signed by the server), each naming the digest of the version before it.
-- They live here; credential_records (0003) keeps the unsigned version-1 records stored before,
-- read as the starting point of an account that has not been carried over yet (its user sets a
-- new password and enrols the authenticator again at the next sign-in). Nothing is converted in
-- place: stored versions are never rewritten.
--
-- A version may be held twice with the same content: as this tablet made it (source 'local',
-- an admin change not yet co-signed) and as the server returned it (source 'sync', with the
-- co-signature). Two different contents of one version (two tablets changed the account
-- offline) are both kept; the one the server accepted wins, the other is superseded.
CREATE TABLE account_records (
    id        INTEGER PRIMARY KEY,
    user_id   TEXT    NOT NULL,
    version   INTEGER NOT NULL CHECK (version >= 1),
    digest    TEXT    NOT NULL,
    cosigned  INTEGER NOT NULL CHECK (cosigned IN (0, 1)),
    record    BLOB    NOT NULL,
    source    TEXT    NOT NULL CHECK (source IN ('local', 'sync')),
    stored_at TEXT    NOT NULL,
    UNIQUE (user_id, version, digest, cosigned, source)
);
CREATE INDEX account_records_user ON account_records (user_id, version);

CREATE TRIGGER account_records_no_update BEFORE UPDATE ON account_records
BEGIN SELECT RAISE(ABORT, 'account records are append-only: UPDATE refused'); END;
CREATE TRIGGER account_records_no_delete BEFORE DELETE ON account_records
BEGIN SELECT RAISE(ABORT, 'account records are append-only: DELETE refused'); END;
