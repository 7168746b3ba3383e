"""Numbered schema migrations of the server database, one list per SQL dialect.

Both lists must give the same tables, keys and append-only guarantees. A migration, once
released, is never edited: add the next number. Times are stored as RFC 3339 UTC text
(``mar_desktop.clock.utc_iso``), which sorts chronologically.
"""

from __future__ import annotations

_TABLES = """
CREATE TABLE facilities (
    facility_id TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE devices (
    device_id   TEXT PRIMARY KEY,
    facility_id TEXT NOT NULL REFERENCES facilities(facility_id),
    public_key  TEXT NOT NULL,
    label       TEXT NOT NULL,
    is_server   INTEGER NOT NULL,
    enrolled_at TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX devices_by_facility ON devices (facility_id, enrolled_at);
CREATE TABLE enrol_codes (
    code_hash   TEXT PRIMARY KEY,
    facility_id TEXT NOT NULL REFERENCES facilities(facility_id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    used_by     TEXT
);
CREATE TABLE entries (
    facility_id TEXT NOT NULL REFERENCES facilities(facility_id),
    device_id   TEXT NOT NULL REFERENCES devices(device_id),
    chain       TEXT NOT NULL CHECK (chain IN ('ledger', 'audit')),
    seq         BIGINT NOT NULL CHECK (seq >= 1),
    pos         BIGINT NOT NULL CHECK (pos >= 1),
    entry_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    raw         {blob} NOT NULL,
    stored_at   TEXT NOT NULL,
    PRIMARY KEY (device_id, chain, seq),
    UNIQUE (facility_id, chain, pos)
);
CREATE INDEX entries_by_kind ON entries (facility_id, device_id, kind, seq);
CREATE TABLE forks (
    device_id      TEXT NOT NULL REFERENCES devices(device_id),
    chain          TEXT NOT NULL,
    seq            BIGINT NOT NULL,
    offered_digest TEXT NOT NULL,
    detected_at    TEXT NOT NULL,
    PRIMARY KEY (device_id, chain, seq, offered_digest)
);
CREATE TABLE credentials (
    facility_id TEXT NOT NULL REFERENCES facilities(facility_id),
    user_id     TEXT NOT NULL,
    version     BIGINT NOT NULL CHECK (version >= 1),
    pos         BIGINT NOT NULL,
    record      TEXT NOT NULL,
    stored_at   TEXT NOT NULL,
    PRIMARY KEY (facility_id, user_id, version),
    UNIQUE (facility_id, pos)
);
"""

APPEND_ONLY_TABLES = ("entries", "credentials", "forks", "server_audit")
SHARED_STATE_TABLES = ("auth_challenges", "auth_tokens", "alert_keys")
"""Tables of migration SQLite 2 / PostgreSQL 3 (:data:`_SHARED_STATE`)."""


def _sqlite_guards(tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> str:
    parts = []
    for table in tables:
        for op in ("UPDATE", "DELETE"):
            parts.append(
                f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END;"
            )
    return "\n".join(parts)


def _postgres_guards(tables: tuple[str, ...] = APPEND_ONLY_TABLES, *, first: bool = True) -> str:
    parts = (
        [
            "CREATE FUNCTION mar_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$ "
            "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END $fn$;"
        ]
        if first
        else []
    )
    for table in tables:
        parts.append(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION mar_refuse_change();"
        )
        parts.append(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION mar_refuse_change();"
        )
    return "\n".join(parts)


_FIRST_TABLES = ("entries", "credentials", "forks")

SQLITE: list[tuple[int, str]] = [
    (1, _TABLES.replace("{blob}", "BLOB") + _sqlite_guards(_FIRST_TABLES)),
]


def _keeps_entries(table: str, key: str, noun: str) -> str:
    """A row trigger refusing to delete ``table``'s row, or change its ``key``, while ``entries``
    hold rows naming it (what a foreign key from ``entries`` refused)."""
    return f"""
CREATE FUNCTION mar_{table}_keep_entries() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF (TG_OP = 'DELETE' OR NEW.{key} IS DISTINCT FROM OLD.{key})
     AND EXISTS (SELECT 1 FROM entries WHERE {key} = OLD.{key}) THEN
    RAISE EXCEPTION 'a {noun} whose entries are stored is never removed or renamed'
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $fn$;
CREATE TRIGGER {table}_keep_entries BEFORE UPDATE OF {key} OR DELETE ON {table}
  FOR EACH ROW EXECUTE FUNCTION mar_{table}_keep_entries();
"""


_POSTGRES_ENTRY_REFERENCES = (
    """
ALTER TABLE entries DROP CONSTRAINT entries_facility_id_fkey;
ALTER TABLE entries DROP CONSTRAINT entries_device_id_fkey;

CREATE FUNCTION mar_entries_name_known_rows() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF EXISTS (SELECT 1 FROM new_entries n
             WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.device_id = n.device_id)
                OR NOT EXISTS (SELECT 1 FROM facilities f WHERE f.facility_id = n.facility_id))
  THEN
    RAISE EXCEPTION 'entries must name a registered device and facility'
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $fn$;
CREATE TRIGGER entries_name_known_rows AFTER INSERT ON entries
  REFERENCING NEW TABLE AS new_entries
  FOR EACH STATEMENT EXECUTE FUNCTION mar_entries_name_known_rows();
"""
    + _keeps_entries("devices", "device_id", "device")
    + _keeps_entries("facilities", "facility_id", "facility")
)
"""PostgreSQL 2: the references of ``entries`` checked once per statement instead of per row.

A foreign key is checked by a row trigger that queries and key-share-locks the referenced row:
two such queries per entry, ~12 % of a 1,000-entry push (one COPY) on a 2-core machine. The
same rule, checked over the statement's new rows at once (a transition table), refuses the
same rows with the same error code. What the foreign keys also refused stays refused, by the
row triggers of :func:`_keeps_entries`: a device or facility whose entries are stored cannot be
deleted or have its id changed. SQLite keeps its foreign keys: there each check is one index
probe."""

_SHARED_STATE = """
CREATE TABLE auth_challenges (
    nonce_hash  TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX auth_challenges_by_expiry ON auth_challenges (expires_at);
CREATE TABLE auth_tokens (
    token_hash  TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX auth_tokens_by_device ON auth_tokens (device_id);
CREATE INDEX auth_tokens_by_expiry ON auth_tokens (expires_at);
CREATE TABLE alert_keys (
    facility_id TEXT NOT NULL REFERENCES facilities(facility_id),
    alert_type  TEXT NOT NULL,
    subject     TEXT NOT NULL,
    raised_at   TEXT NOT NULL,
    PRIMARY KEY (facility_id, alert_type, subject)
);
"""
"""The state every server process shares instead of keeping it in its own memory (SQLite 2,
PostgreSQL 3): single-use authentication challenges and bearer tokens, both by the SHA-256 of
the secret only, with their expiry (:mod:`sync.server.auth`; expired rows are deleted as new
ones are made), and one row per clinical alert raised, by kind and subject, so that however
many processes reconcile the same pushes an alert is raised once
(:mod:`sync.server.reconciliation`). Alerts raised before this migration are found from the
feed, as before. None of these tables is append-only: challenges are consumed and tokens
expire."""

SQLITE.append((2, _SHARED_STATE))

_REVOCATION_AND_AUDIT = """
ALTER TABLE devices ADD COLUMN revoke_mode TEXT CHECK (revoke_mode IN ('retire', 'lost'));
ALTER TABLE devices ADD COLUMN retired_at TEXT;
CREATE TABLE server_audit (
    audit_id    {serial} PRIMARY KEY,
    at          TEXT NOT NULL,
    facility_id TEXT,
    device_id   TEXT,
    action      TEXT NOT NULL,
    address     TEXT,
    detail      TEXT NOT NULL
);
CREATE INDEX server_audit_by_facility ON server_audit (facility_id, at);
"""
"""Revocation modes and the server's own audit (SQLite 3, PostgreSQL 4).

``revoke_mode``: how a revoked tablet is treated (``retire``: it may still push what it holds
until it confirms, ``retired_at``; ``lost``: refused at once). A device revoked before this
migration has ``revoked_at`` and no mode: refused like a lost one, but it was given no signed
revocation entry, so it is not told to erase itself (revoke it again as ``lost`` for that).
``server_audit``: who did what through the API or the command line, from which client address
(the TCP peer, or the client a trusted proxy names): enrolment, sign-in, push, pull, credential
changes, revocation. Append-only like the entries."""

SQLITE.append(
    (3, _REVOCATION_AND_AUDIT.replace("{serial}", "INTEGER") + _sqlite_guards(("server_audit",)))
)

POSTGRES: list[tuple[int, str]] = [
    (1, _TABLES.replace("{blob}", "BYTEA") + _postgres_guards(_FIRST_TABLES)),
    (2, _POSTGRES_ENTRY_REFERENCES),
    (3, _SHARED_STATE),
    (
        4,
        _REVOCATION_AND_AUDIT.replace("{serial}", "BIGSERIAL")
        + _postgres_guards(("server_audit",), first=False),
    ),
]

_HISTORY_DAYS = """
ALTER TABLE facilities ADD COLUMN history_days INTEGER NOT NULL DEFAULT 400
    CHECK (history_days >= 1);
"""
"""SQLite 4 / PostgreSQL 5: how many days of history a new tablet of the facility fetches
(:mod:`sync.server.snapshot`); the 400-day default bounds what a NEW tablet reads, never what a
tablet keeps (tablets never delete ledger rows)."""

SQLITE.append((4, _HISTORY_DAYS))
POSTGRES.append((5, _HISTORY_DAYS))

_SECRETS_TABLE = """
CREATE TABLE server_secrets (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    kek_id      TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    wrapped     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    rotated_at  TEXT
);
"""
SEALED_PREFIX = "sealed1:"
"""How a sealed ``credentials.record`` starts (:mod:`sync.server.secrets_at_rest`)."""

_SQLITE_SEAL_ONLY = f"""
DROP TRIGGER credentials_no_update;
CREATE TRIGGER credentials_no_update BEFORE UPDATE ON credentials
WHEN NOT (OLD.record NOT LIKE '{SEALED_PREFIX}%' AND NEW.record LIKE '{SEALED_PREFIX}%'
          AND NEW.facility_id = OLD.facility_id AND NEW.user_id = OLD.user_id
          AND NEW.version = OLD.version AND NEW.pos = OLD.pos AND NEW.stored_at = OLD.stored_at)
BEGIN SELECT RAISE(ABORT, 'credentials is append-only: UPDATE refused'); END;
"""

_POSTGRES_SEAL_ONLY = f"""
DROP TRIGGER credentials_append_only ON credentials;
CREATE FUNCTION mar_credentials_seal_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.record NOT LIKE '{SEALED_PREFIX}%'
     AND NEW.record LIKE '{SEALED_PREFIX}%'
     AND NEW.facility_id = OLD.facility_id AND NEW.user_id = OLD.user_id
     AND NEW.version = OLD.version AND NEW.pos = OLD.pos AND NEW.stored_at = OLD.stored_at THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $fn$;
CREATE TRIGGER credentials_append_only BEFORE UPDATE OR DELETE ON credentials
  FOR EACH ROW EXECUTE FUNCTION mar_credentials_seal_only();
"""
"""SQLite 5 / PostgreSQL 6: credential secrets at rest (:mod:`sync.server.secrets_at_rest`).

``server_secrets``: the one data key of the credential secrets, wrapped (AES-256-GCM) by the
server secrets key (a key file, or derived from the server signing key), with the wrapping key's
id; rotation rewraps this one row. ``credentials`` stays append-only with one exception, made
in SQL so nothing else can use it: a row whose record is still plaintext may be rewritten once
into its sealed form (same facility, user, version, position and time). The server seals every
plaintext row the first time it opens the database with this migration applied; the plaintext
history that is not in a row any more (SQLite free pages and WAL, PostgreSQL dead tuples, old
backups) is dealt with as docs/server-operations.md says."""

SQLITE.append((5, _SECRETS_TABLE + _SQLITE_SEAL_ONLY))
POSTGRES.append((6, _SECRETS_TABLE + _POSTGRES_SEAL_ONLY))
