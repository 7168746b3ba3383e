"""Point-in-time recovery, tested (docs/server-operations.md#point-in-time-recovery).

A primary PostgreSQL cluster of our own with WAL archiving serves a real ``mar-server``; tablets
sync doses over real TLS; a base backup is taken; more doses are synced; the moment T is noted;
more doses come after T and then an operator's mistake destroys the entries table. A second
cluster is made from the base backup plus the archived WAL, recovered to T and promoted; the
server restarts on it at the same address; the tablets sync and heal as after a backup restore:
every entry held exactly once, tablets and server agree, ``verify`` passes.

Measured: the RPO (how long a committed dose waited until its WAL segment was archived, bounded
by ``archive_timeout``) and the RTO (base backup copied into place, started, WAL replayed to T,
promoted), with the WAL replay rate. CI runs it as root: PostgreSQL runs as ``postgres``.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import trustme

from mar_desktop.clock import FakeClock
from sync.server import cli
from tests.facility import NOW
from tests.sync.conftest import Site, ca, cert_files, start_site, stop_site
from tests.sync.server.ops.pg_cluster import Cluster, pg_bin_or_skip, workspace
from tests.sync.server.ops.test_restore_drill import (
    all_server_rows,
    give,
    plain_orders,
    restart,
)
from tests.sync.world import assert_verified, cart, ledger_rows, seed, server_rows

__all__ = ["ca", "cert_files"]

ARCHIVE_TIMEOUT = 5
"""Seconds: the longest a committed change waits before its WAL segment is archived (the
RPO bound). Production: 60 (docs)."""


def _chown_tree(root: Path, like: Path) -> None:
    st = like.stat()
    for path in [root, *root.rglob("*")]:
        os.chown(path, st.st_uid, st.st_gid, follow_symlinks=False)


def _segment_archived(primary: Cluster, *, switch: bool = False) -> float:
    """Seconds from now until the WAL segment holding the latest commit is archived (at once
    closed with ``switch``, else by ``archive_timeout``)."""
    lsn = "pg_switch_wal()" if switch else "pg_current_wal_insert_lsn()"
    segment = primary.sql(f"SELECT pg_walfile_name({lsn})")
    started = time.monotonic()
    primary.wait_until(
        f"SELECT last_archived_wal >= '{segment}' FROM pg_stat_archiver",
        timeout=ARCHIVE_TIMEOUT + 30,
    )
    return time.monotonic() - started


def test_point_in_time_recovery_then_tablets_heal(
    tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    bin_dir = pg_bin_or_skip()
    with workspace() as work:
        archive = work / "archive"
        primary = Cluster(bin_dir, work / "primary", work)
        primary.initdb()
        archive.mkdir()
        _chown_tree(archive, work)
        primary.configure(
            wal_level="replica",
            archive_mode="on",
            archive_command=f"'test ! -f {archive}/%f && cp %p {archive}/%f'",
            archive_timeout=str(ARCHIVE_TIMEOUT),
        )
        primary.start()
        restored = Cluster(bin_dir, work / "restored", work)
        clock = FakeClock(NOW)
        site: Site | None = None
        try:
            site = start_site(tmp_path, primary.dsn, cert_files, ca, clock=clock)
            a = cart(site, "cart-a")
            seeded = seed(a)
            a.tab.engine.sync_once()
            b = cart(site, "cart-b")
            b.tab.engine.sync_once()
            doses = plain_orders(seeded, 3)
            give(a, seeded, doses[0], clock, [a, b])
            a.tab.engine.sync_once()

            # 1. the base backup (the nightly job), while the server runs
            base = work / "base"
            primary.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U",
                        "mar", "-D", str(base), "-X", "stream", "-c", "fast")

            # 2. more doses; T is noted once they are committed; the RPO is measured on them
            give(a, seeded, doses[1], clock, [a, b])
            a.tab.engine.sync_once()
            b.tab.engine.sync_once()
            at_target = all_server_rows(site)
            target = str(primary.sql("SELECT clock_timestamp()"))
            rpo = _segment_archived(primary)
            time.sleep(1.1)  # everything after T commits strictly later

            # 3. after T: another dose, then the mistake that calls for a recovery
            give(b, seeded, doses[2], clock, [a, b])
            b.tab.engine.sync_once()
            after_target = all_server_rows(site)
            assert len(after_target) > len(at_target)
            site.server.stop()
            site.core.store.close()
            primary.sql("DROP TABLE entries CASCADE")
            _segment_archived(primary, switch=True)
            primary.stop("immediate")

            # 4. recover a second cluster to T: base backup + archived WAL, then promote
            started = time.monotonic()
            shutil.copytree(base, restored.data)
            _chown_tree(restored.data, work)
            restored.data.chmod(0o700)
            restored.configure(
                restore_command=f"'cp {archive}/%f %p'",
                recovery_target_time=f"'{target}'",
                recovery_target_action="'promote'",
                archive_mode="off",
            )
            restored.write(restored.data / "recovery.signal", "")
            restored.start()
            restored.wait_until("SELECT NOT pg_is_in_recovery()", timeout=120)
            rto = time.monotonic() - started
            label = (base / "backup_label").read_text()
            start_lsn = re.search(r"START WAL LOCATION: (\S+)", label)
            assert start_lsn is not None
            replayed = int(
                restored.sql(f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{start_lsn[1]}')")  # type: ignore[arg-type]
            )
            size = int(restored.sql("SELECT pg_database_size('postgres')"))  # type: ignore[arg-type]
            print(
                f"\nPITR: RPO {rpo:.1f} s (archive_timeout {ARCHIVE_TIMEOUT} s); "
                f"RTO {rto:.1f} s for {size / 1e6:.1f} MB; WAL replayed {replayed / 1e6:.1f} MB "
                f"({replayed / 1e6 / rto:.1f} MB/s including start-up)"
            )
            assert rpo <= ARCHIVE_TIMEOUT + 5
            assert rto < 60

            # 5. the server restarts on the recovered cluster, at the same address
            site.db_url = restored.dsn
            restart(site, clock, cert_files)
            assert all_server_rows(site) == at_target  # exactly the moment T

            # 6. the tablets sync and heal: what the server lost after T is sent again
            for c in (a, b, a, b):
                c.tab.engine.sync_once()
            assert a.tab.engine.pending() == b.tab.engine.pending() == 0
            now_held = all_server_rows(site)
            assert set(after_target) <= set(now_held)
            assert len(now_held) == len(set(now_held))
            entry_ids = [
                e.entry_id
                for chain in ("ledger", "audit")
                for e in site.core.store.feed(site.facility_id, chain, 0, 100_000)  # type: ignore[arg-type]
            ]
            assert len(entry_ids) == len(set(entry_ids))  # every entry exactly once
            assert ledger_rows(a.tab) == ledger_rows(b.tab) == server_rows(site, "ledger")
            assert_verified(site, [a.tab, b.tab])
            argv = ["--data", str(site.data), "--db", restored.dsn, "verify"]
            assert cli.main(argv) == 0
        finally:
            if site is not None:
                stop_site(site)
            restored.stop("immediate")
            primary.stop("immediate")
