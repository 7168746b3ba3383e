-- 0004: sync state of this tablet (sync/engine.py). Nothing here is clinical data: it says
-- which server this tablet is enrolled with and how far push and pull have got. None of it is
-- part of a projection; it is kept across projection rebuilds.

-- The server this tablet is enrolled with (one row once enrolled). The server public key
-- verifies receipts and the server device's entries; ``pin`` is an optional SPKI SHA-256 (hex)
-- checked on the TLS certificate; ``ca_pem`` an optional private CA (PEM text) to trust.
CREATE TABLE sync_server (
    singleton         INTEGER PRIMARY KEY CHECK (singleton = 1),
    url               TEXT NOT NULL,
    server_id         TEXT NOT NULL,
    server_device_id  TEXT NOT NULL,
    server_public_key TEXT NOT NULL CHECK (length(server_public_key) = 64),
    pin               TEXT,
    ca_pem            TEXT,
    enrolled_at       TEXT NOT NULL
);

-- Named cursors: 'feed' (last applied feed position; ``marker`` = id of the entry there, to
-- notice a server restored from an older backup), 'credentials' (last pulled credential
-- position), 'credentials_pushed' (rowid of the last local credential version pushed),
-- 'acked_ledger' / 'acked_audit' (highest own seq the server acknowledged).
CREATE TABLE sync_cursor (
    name       TEXT PRIMARY KEY,
    value      INTEGER NOT NULL CHECK (value >= 0),
    marker     TEXT,
    updated_at TEXT NOT NULL
);

-- Entries held back with the reason: own entries the server refused ('push') and entries
-- from other devices that failed verification ('pull'). One row per (direction, entry).
CREATE TABLE sync_quarantine (
    direction   TEXT NOT NULL CHECK (direction IN ('push', 'pull')),
    entry_key   TEXT NOT NULL,
    device_id   TEXT,
    chain       TEXT,
    seq         INTEGER,
    code        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    raw         BLOB,
    first_at    TEXT NOT NULL,
    last_at     TEXT NOT NULL,
    PRIMARY KEY (direction, entry_key)
);

-- Flags that change what the engine does ('fork': the server refused this device's chain).
CREATE TABLE sync_flags (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    at    TEXT NOT NULL
);
