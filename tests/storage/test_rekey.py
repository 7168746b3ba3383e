"""``mar-desktop rekey``: a new key, the old one retired, safe against a kill at any moment."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mar_desktop.errors import StorageError, WrongKey
from storage.database import connect, database_path, prove_key
from storage.keystore import KeyStore
from storage.local_store import LocalStore
from storage.rekey import DatabaseInUse, recover_interrupted_rekey, rekey
from storage.verify import verify_store
from tests import factories as f
from tests.conftest import MemoryKeyring
from tests.file_keyring import FileKeyring
from tests.storage.helpers import mixed_history

REPO = Path(__file__).resolve().parents[2]
KILLS = 120


def _populate(data: Path, keystore: KeyStore, extra: int = 60) -> set[str]:
    store = LocalStore.create(data, keystore, "fac-1")
    try:
        mixed_history(store.ledger)
        for n in range(extra):
            store.ledger.append([
                f.administration(f"res-{n % 7}", f"ord-{n % 5}", scheduled_for=None),
                f.audit("administration", entity_type="administration"),
            ])
    finally:
        store.close()
    return _ids(data, keystore.load_current())


def _ids(data: Path, key: bytes) -> set[str]:
    conn = connect(database_path(data), key)
    try:
        report = verify_store(conn)
        assert report.ok, report.summary()
        return {r[0] for r in conn.execute("SELECT id FROM ledger UNION ALL SELECT id FROM audit")}
    finally:
        conn.close()


def _file_keystore(data: Path, keyring_file: Path) -> KeyStore:
    return KeyStore(data, backend=FileKeyring(keyring_file), allow_insecure=True)


def test_rekey_replaces_and_retires_the_key(tmp_path: Path, memory_keyring: object) -> None:
    data = tmp_path / "data"
    keystore = KeyStore(data)
    ids = _populate(data, keystore)
    old = keystore.load_current()
    steps: list[str] = []

    result = rekey(keystore, on_step=steps.append)

    new = keystore.load_current()
    assert new != old and len(new) == 32
    assert keystore.load_pending() is None
    assert steps == ["locked", "pending-stored", "rekeyed", "checkpointed", "closed", "promoted"]
    assert result.ledger_entries + result.audit_entries == len(ids)
    assert _ids(data, new) == ids  # every entry there, verify_store passes
    with pytest.raises(WrongKey):
        prove_key(database_path(data), old)
    with LocalStore.open(data, keystore) as store:  # the app's own open path
        assert store.facility_id == "fac-1"
    assert not list(data.glob("*-wal")) or (data / "mar.db-wal").stat().st_size == 0


def test_rekey_refused_while_the_database_is_open(tmp_path: Path, memory_keyring: object) -> None:
    data = tmp_path / "data"
    keystore = KeyStore(data)
    ids = _populate(data, keystore)
    old = keystore.load_current()
    store = LocalStore.open(data, keystore)
    try:
        store.reader().facility()
        with pytest.raises(DatabaseInUse):
            rekey(keystore)
    finally:
        store.close()
    assert keystore.load_current() == old
    assert _ids(data, old) == ids


def _interrupted_rekey(
    data: Path, keystore: KeyStore, stop_after: str
) -> tuple[set[str], bytes]:
    """A populated database whose rekey was stopped right after step ``stop_after``: its
    entries' ids and the key it had before."""
    ids = _populate(data, keystore, extra=5)
    old = keystore.load_current()

    class Crash(Exception):
        pass

    def step(name: str) -> None:
        if name == stop_after:
            raise Crash

    with pytest.raises(Crash):
        rekey(keystore, on_step=step)
    return ids, old


@pytest.mark.parametrize(
    ("stop_after", "file_has_new_key"),
    [("locked", False), ("pending-stored", False), ("checkpointed", True), ("closed", True)],
)
def test_interrupted_rekey_settles_on_next_open(
    tmp_path: Path, memory_keyring: object, stop_after: str, file_has_new_key: bool
) -> None:
    data = tmp_path / "data"
    keystore = KeyStore(data)
    ids, old = _interrupted_rekey(data, keystore, stop_after)
    pending = keystore.load_pending()

    key = recover_interrupted_rekey(keystore)

    assert keystore.load_pending() is None
    assert keystore.load_current() == key
    assert key == (pending if file_has_new_key else old)
    assert _ids(data, key) == ids


@pytest.mark.parametrize(
    ("stop_after", "file_has_new_key"), [("pending-stored", False), ("checkpointed", True)]
)
def test_recovery_is_the_explicit_first_step_of_opening_not_of_loading_the_key(
    tmp_path: Path, memory_keyring: MemoryKeyring, stop_after: str, file_has_new_key: bool
) -> None:
    """After an interrupted rekey, reading the key store changes nothing and hands out no key
    that might not open the database; opening the database settles the rekey."""
    data = tmp_path / "data"
    keystore = KeyStore(data)
    ids, old = _interrupted_rekey(data, keystore, stop_after)
    pending = keystore.load_pending()
    assert pending is not None and pending != old
    stored = dict(memory_keyring.store)

    with pytest.raises(StorageError, match="interrupted re-encryption"):
        KeyStore(data).load_existing()
    assert keystore.load_current() == old
    assert memory_keyring.store == stored

    with LocalStore.open(data, KeyStore(data)) as store:
        assert store.facility_id == "fac-1"
    key = pending if file_has_new_key else old
    assert keystore.load_pending() is None
    assert keystore.load_current() == keystore.load_existing() == key
    assert _ids(data, key) == ids


def _read_until(pipe: object, word: str, steps: list[str]) -> str:
    for line in pipe:  # type: ignore[attr-defined]
        kind, *rest = line.split()
        if kind == "STEP":
            steps.append(rest[0])
        elif kind == word:
            return " ".join(rest)
    raise AssertionError(f"helper ended before {word}")


@pytest.mark.slow
def test_rekey_killed_at_random_moments_always_opens(tmp_path: Path) -> None:
    """SIGKILL a rekeying process {KILLS} times at random moments: every time, the database
    opens with the key the key store then calls current, holds every entry and verifies."""
    data = tmp_path / "data"
    keyring_file = tmp_path / "keyring.json"
    keystore = _file_keystore(data, keyring_file)
    ids = _populate(data, keystore)
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    env = dict(os.environ, PYTHONPATH=str(REPO), MAR_ALLOW_INSECURE_KEYSTORE="1")
    helper = subprocess.Popen(
        [sys.executable, str(REPO / "tests/storage/rekey_child.py"), str(data), str(keyring_file)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )
    last_steps: dict[str, int] = {}
    promoted_on_open = dropped_on_open = 0
    keys_seen: set[bytes] = {keystore.load_current()}
    try:
        assert helper.stdin is not None and helper.stdout is not None
        for _ in range(KILLS):
            helper.stdin.write("fork\n")
            helper.stdin.flush()
            steps: list[str] = []
            pid = int(_read_until(helper.stdout, "PID", steps))
            time.sleep(rng.uniform(0.0, 0.12))
            os.kill(pid, signal.SIGKILL)
            helper.stdin.write("reap\n")
            helper.stdin.flush()
            _read_until(helper.stdout, "REAPED", steps)
            last = steps[-1] if steps else "none"
            last_steps[last] = last_steps.get(last, 0) + 1

            fresh = _file_keystore(data, keyring_file)
            pending = fresh.load_pending()
            key = recover_interrupted_rekey(fresh)  # the first step of opening
            assert fresh.load_pending() is None
            assert fresh.load_current() == key
            if pending is not None:
                promoted_on_open += key == pending
                dropped_on_open += key != pending
            assert _ids(data, key) == ids
            keys_seen.add(key)
    finally:
        helper.kill()
        helper.wait()
    print("last steps before the kill:", last_steps, promoted_on_open, dropped_on_open)
    # The kills landed in every phase, and recovery went both ways.
    assert len(keys_seen) > KILLS // 4, last_steps
    assert {"pending-stored", "rekeyed", "checkpointed"} & set(last_steps), last_steps
    assert promoted_on_open > 0 and dropped_on_open > 0, (last_steps, promoted_on_open)


def test_rekey_command(tmp_path: Path, memory_keyring: object,
                       capsys: pytest.CaptureFixture[str]) -> None:
    from ui.cli.main import main

    data = tmp_path / "data"
    keystore = KeyStore(data)
    ids = _populate(data, keystore, extra=2)
    old = keystore.load_current()
    assert main(["rekey", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "re-encrypted" in out and old.hex() not in out
    new = keystore.load_current()
    assert new != old and _ids(data, new) == ids
    with LocalStore.open(data, keystore):
        assert main(["rekey", "--data-dir", str(data)]) == DatabaseInUse("x").exit_code
    assert "close it" in capsys.readouterr().err.lower()
    assert keystore.load_current() == new
