"""Credential secrets at rest on the server (issue 22 item 4): the database file, a query of
every stored row and a backup hold no TOTP secret, password verifier, wrapped key or
``$argon2id$`` hash; tablets still get the records whole; old plaintext rows are sealed at
upgrade; the secrets key rotates (audited) and sign-in still works; a wrong key is a clear
error at start and writes nothing. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from mar_desktop.errors import StorageError, WrongKey
from mar_desktop.people import issue, userkeys
from mar_desktop.people.statements import AccountRecord
from mar_desktop.people.totp import TotpEnrolment
from sync.server import backup, cli, config, migrations
from sync.server import backup_crypto as bc
from sync.server import secrets_at_rest as sar
from sync.server.core import ServerCore
from sync.server.sqlbase import SqlStore
from tests.statements import AT, OWN, Signed
from tests.sync.server.conftest import Server
from tests.sync.server.records import HASH, record_json, signed_admin


def stored_text(store: Any) -> str:
    """Every column of every credentials and server_secrets row, as the database holds it."""
    assert isinstance(store, SqlStore)
    rows = store._rows("SELECT facility_id, user_id, version, record FROM credentials")
    rows += store._rows("SELECT kek_id, nonce, wrapped FROM server_secrets")
    return json.dumps([[str(v) for v in r] for r in rows])


def database_bytes(store_url: str, store: Any) -> bytes:
    """The SQLite file and its WAL as bytes; for PostgreSQL, the stored rows' text."""
    if store_url.startswith("postgresql"):
        return stored_text(store).encode()
    path = Path(store_url)
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def secrets_of(record: AccountRecord) -> list[str]:
    out = [record.password.verifier, record.password.salt]
    if record.wrapped_key is not None:
        out.append(record.wrapped_key.ciphertext)
    if record.totp_secret is not None:
        out.append(str(record.totp_secret))
    return out


def admin_with_totp(server: Server) -> tuple[Signed, str]:
    admin = signed_admin(server)
    assert admin.key is not None
    totp = TotpEnrolment.create("admin", "MAR").secret
    enrolled = admin.head.revise(
        change="totp_enrolled", at=AT, by=admin.head.user_id, device_id="t",
        totp_secret=totp, totp_enrolled=True,
    ).signed(admin.key)
    server.core.put_credential(server.facility_id, enrolled.user_id, 3, enrolled, "t")
    return Signed([*admin.records, enrolled], admin.key), str(totp)


def feed_records(server: Server) -> list[AccountRecord]:
    tab = server.tablet(label="reader")
    items = tab.get("/v1/credentials").json()["items"]
    return [AccountRecord.model_validate(i["record"]) for i in items]


def run(server: Server, store_url: str, *args: str) -> int:
    return cli.main(["--data", str(server.data), "--db", store_url, *args])


def test_the_database_and_a_backup_hold_no_secret_and_tablets_get_whole_records(
    server: Server, store_url: str, tmp_path: Path
) -> None:
    admin, totp = admin_with_totp(server)
    secrets = [totp, *secrets_of(admin.head), *secrets_of(admin.records[0])]
    raw = database_bytes(store_url, server.store)
    text = stored_text(server.store)
    for secret in secrets:
        assert secret.encode() not in raw
        assert secret not in text
    assert b"$argon2id$" not in raw
    assert admin.head.username in text  # only the secrets are sealed, the rest stays readable

    # the feed gives every tablet the records exactly as they were signed
    fed = [r for r in feed_records(server) if r.user_id == admin.head.user_id]
    assert fed == admin.records
    assert str(fed[-1].totp_secret) == totp

    # a backup's decrypted payload (the SQLite file itself) holds none of them either
    key_file = tmp_path / "keys" / "backup.key"
    bc.generate_key_file(key_file)
    assert run(server, store_url, "backup", "--out", str(tmp_path / "b"), "--key-file",
               str(key_file)) == 0
    path = backup.list_backups(tmp_path / "b")[-1][1]
    payload = io.BytesIO()
    with path.open("rb") as inp:
        bc.decrypt_stream(inp, bc.load_key(key_file), payload)
    for secret in secrets:
        assert secret.encode() not in payload.getvalue()
    assert b"$argon2id$" not in payload.getvalue()


def test_a_sealed_field_moved_to_another_row_does_not_open(server: Server) -> None:
    store = server.store
    assert isinstance(store, SqlStore)
    box = store.box()
    sealed = box.seal(server.facility_id, "u-1", 1, json.dumps({"totp_secret": "ABC"}))
    assert "ABC" not in sealed
    assert json.loads(box.open(server.facility_id, "u-1", 1, sealed)) == {"totp_secret": "ABC"}
    with pytest.raises(StorageError):
        box.open(server.facility_id, "u-2", 1, sealed)
    with pytest.raises(StorageError):
        box.open(server.facility_id, "u-1", 2, sealed)


def execute(store: SqlStore[Any], sql: str) -> None:
    with store._pool.connection() as conn, store.transaction(conn):
        store.run(conn, sql)


def _older_database(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database made by the release before secrets at rest, holding plaintext records."""
    with monkeypatch.context() as older:
        older.setattr(migrations, "SQLITE", migrations.SQLITE[:4])
        older.setattr(migrations, "POSTGRES", migrations.POSTGRES[:5])
        store = config.open_store(store_url)
        assert isinstance(store, SqlStore)
        store.migrate()
        legacy = json.dumps(record_json("u-old", totp_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"))
        with store._pool.connection() as conn, store.transaction(conn):
            store.run(conn, "INSERT INTO facilities (facility_id, name, created_at) "
                      "VALUES ('f-old', 'Old House', '2026-01-01T00:00:00Z')")
            store.run(conn, "INSERT INTO credentials (facility_id, user_id, version, pos, "
                      "record, stored_at) VALUES ('f-old', 'u-old', 1, 1, ?, "
                      "'2026-01-01T00:00:00Z')", (legacy,))
        store.close()


def test_plaintext_rows_of_an_older_release_are_sealed_at_upgrade(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _older_database(store_url, monkeypatch)
    store = config.open_store(store_url)
    try:
        store.migrate()
        assert isinstance(store, SqlStore)
        assert b"$argon2id$" in database_bytes(store_url, store)  # in clear until a server opens
        ServerCore(store, config.create_server_key(tmp_path / "data"))
        store.unlock_secrets()  # as every server start does (open_core)
        raw = database_bytes(store_url, store)
        assert b"$argon2id$" not in raw
        assert b"JBSWY3DPEHPK3PXP" not in raw
        (row,) = store.credentials("f-old", 0, 10)
        assert json.loads(row.record_json)["password_hash"] == HASH  # served as it was
        # still append-only: a sealed row is never rewritten, no row is deleted
        with pytest.raises(StorageError):
            execute(store, "UPDATE credentials SET record = 'sealed1:{}'")
        with pytest.raises(StorageError):
            execute(store, "DELETE FROM credentials")
    finally:
        store.close()


def test_a_plaintext_row_may_only_become_sealed(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _older_database(store_url, monkeypatch)
    store = config.open_store(store_url)
    try:
        store.migrate()
        assert isinstance(store, SqlStore)
        for sql in (
            "UPDATE credentials SET record = '{}'",  # another plaintext
            "UPDATE credentials SET record = 'sealed1:{}', version = 2",  # another row
        ):
            with pytest.raises(StorageError):
                execute(store, sql)
    finally:
        store.close()


def test_rotation_is_audited_and_sign_in_still_works(
    server: Server, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    admin, totp = admin_with_totp(server)
    new_key = tmp_path / "keys" / "secrets.key"
    new_key.parent.mkdir()
    assert run(server, store_url, "rotate-secrets-key", "--new-key-file", str(new_key)) == 0
    out = capsys.readouterr().out
    assert new_key.stat().st_mode & 0o777 == 0o600
    key = sar.load_key_file(new_key)
    assert key.hex() not in out
    assert sar.key_id(key) in out
    rows = server.store.audit_rows(None, None, None, 100)
    assert [r.detail for r in rows if r.action == "secrets_key_rotated"] == [
        f"secrets key {sar.key_id(sar.derived_key(server.core.signer))} -> {sar.key_id(key)}"
    ]

    # the old key no longer opens the database; the new one does, and the admin signs in
    store = config.open_store(store_url)
    try:
        with pytest.raises(WrongKey):
            ServerCore(store, server.core.signer).store.unlock_secrets()
        core = ServerCore(store, server.core.signer, secrets_key=key)
        assert core.store.unlock_secrets() == core.secrets_key_id == sar.key_id(key)
        (row,) = [r for r in store.credentials(server.facility_id, 0, 100) if r.version == 3]
        record = AccountRecord.from_canonical(row.record_json)
        assert record == admin.head and str(record.totp_secret) == totp
        derived = userkeys.check(record.password, OWN)
        assert derived is not None
        assert issue.open_key(record, OWN) is not None
    finally:
        store.close()


def test_a_wrong_secrets_key_is_a_clear_error_at_start_and_writes_nothing(
    server: Server, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    admin_with_totp(server)
    wrong = tmp_path / "wrong.key"
    sar.generate_key_file(wrong)
    before = stored_text(server.store), server.store.audit_rows(None, None, None, 1000)
    code = cli.main(["--data", str(server.data), "--db", store_url,
                     "--secrets-key-file", str(wrong), "devices"])
    assert code != 0
    err = capsys.readouterr().err
    assert "wrong server secrets key" in err
    assert sar.key_id(sar.load_key_file(wrong)) in err
    assert sar.load_key_file(wrong).hex() not in err
    assert (stored_text(server.store), server.store.audit_rows(None, None, None, 1000)) == before
    serve = ["serve", "--insecure-http-loopback", "--port", "0", "--verify-workers", "0"]
    assert cli.main(["--data", str(server.data), "--db", store_url,
                     "--secrets-key-file", str(wrong), *serve]) != 0  # refused before serving
    assert "wrong server secrets key" in capsys.readouterr().err
    assert (stored_text(server.store), server.store.audit_rows(None, None, None, 1000)) == before

    # a key file others may read is refused before the database is opened
    wrong.chmod(0o644)
    assert cli.main(["--data", str(server.data), "--db", store_url,
                     "--secrets-key-file", str(wrong), "devices"]) != 0
    assert "chmod 600" in capsys.readouterr().err


def test_nothing_is_stored_in_clear_without_the_key(store_url: str) -> None:
    store = config.open_store(store_url)
    try:
        store.migrate()
        assert isinstance(store, SqlStore)
        from sync.server.store import CredentialRow

        row = CredentialRow(1, "u", 1, "{}", "2026-01-01T00:00:00Z")
        with pytest.raises(StorageError, match="not loaded"), store.write() as txn:
            txn.insert_credential("f", row)
    finally:
        store.close()


def test_a_damaged_sealed_row_is_left_out_of_the_feed_not_served_or_fatal(
    server: Server, store_url: str
) -> None:
    if store_url.startswith("postgresql"):
        pytest.skip("one dialect is enough: the triggers are dropped by hand to damage a row")
    admin, _ = admin_with_totp(server)
    store = server.store
    assert isinstance(store, SqlStore)
    execute(store, "DROP TRIGGER credentials_no_update")
    (stored,) = store._rows("SELECT record FROM credentials WHERE version = 3")
    data = json.loads(stored[0][len(migrations.SEALED_PREFIX):])
    (other,) = store._rows("SELECT record FROM credentials WHERE version = 2")
    data["totp_secret"] = json.loads(other[0][len(migrations.SEALED_PREFIX):])["password"]
    damaged = migrations.SEALED_PREFIX + json.dumps(data)
    with store._pool.connection() as conn, store.transaction(conn):
        store.run(conn, "UPDATE credentials SET record = ? WHERE version = 3", (damaged,))
    fed = [r for r in feed_records(server) if r.user_id == admin.head.user_id]
    assert fed == admin.records[:2]  # the moved field does not open: left out, the rest served
    with pytest.raises(StorageError), store.write() as txn:
        txn.credential(server.facility_id, admin.head.user_id, 3)  # account checks refuse it
