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

APPEND_ONLY_TABLES = ("entries", "credentials", "forks")


def _sqlite_guards() -> str:
    parts = []
    for table in APPEND_ONLY_TABLES:
        for op in ("UPDATE", "DELETE"):
            parts.append(
                f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END;"
            )
    return "\n".join(parts)


def _postgres_guards() -> str:
    parts = [
        "CREATE FUNCTION mar_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$ "
        "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END $fn$;"
    ]
    for table in APPEND_ONLY_TABLES:
        parts.append(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION mar_refuse_change();"
        )
        parts.append(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION mar_refuse_change();"
        )
    return "\n".join(parts)


SQLITE: list[tuple[int, str]] = [
    (1, _TABLES.replace("{blob}", "BLOB") + _sqlite_guards()),
]
POSTGRES: list[tuple[int, str]] = [
    (1, _TABLES.replace("{blob}", "BYTEA") + _postgres_guards()),
]
