"""Uploaded runs execute in a child process of their own (sync/worker.py); one whose child
is killed ends `failed` with its lock released, and the next run gets a new child (R18)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.load import zipped
from sqlalchemy import select

from rollbook.generate import District, write_district
from rollbook.store.db import Database
from rollbook.store.sync_tables import SyncLock, SyncRun
from rollbook.sync.engine import acquire, release
from rollbook.sync.worker import SyncWorker
from tests.factories import Roster
from tests.integration.syncing import Sis, upload, wait_for
from tests.oneroster import district


def _district_zip(tmp_path: Path, students: int) -> Path:
    folder = tmp_path / "district"
    write_district(folder, District(students=students))
    return zipped(folder, tmp_path / "district.zip")


def _holder_while_running(db: Database, run_id: int, timeout: float = 60) -> str:
    """The lock's holder (`host:pid`) once the run holds it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session(write=False) as session:
            holder = session.scalar(select(SyncLock.holder).where(SyncLock.run_id == run_id))
        if holder is not None:
            return holder
        time.sleep(0.005)
    raise AssertionError(f"run {run_id} never took its organization's lock")


def test_an_uploaded_run_executes_in_a_child_process(roster: Roster, tmp_path: Path) -> None:
    api = roster.district_admin().api
    queued = upload(api, _district_zip(tmp_path, 300))
    holder = _holder_while_running(roster.db, int(queued["id"]))
    host, _, pid = holder.rpartition(":")
    assert host == socket.gethostname()
    assert int(pid) != os.getpid(), "the run executed in the server's own process"
    assert wait_for(api, queued["id"])["status"] == "applied"


def test_r18_a_killed_child_fails_its_run_and_the_next_run_gets_a_new_one(
    roster: Roster, tmp_path: Path
) -> None:
    api = roster.district_admin().api
    path = _district_zip(tmp_path, 3000)
    queued = upload(api, path)
    run_id = int(queued["id"])
    holder = _holder_while_running(roster.db, run_id)
    os.kill(int(holder.rpartition(":")[2]), signal.SIGKILL)
    ended = wait_for(api, queued["id"])
    assert ended["status"] == "failed", ended
    assert "stopped" in ended["message"]
    with roster.db.session(write=False) as session:
        assert session.scalar(select(SyncLock).where(SyncLock.org_id == roster.org.id)) is None
        assert session.get(SyncRun, run_id).status == "failed"  # type: ignore[union-attr]
    again = wait_for(api, upload(api, path)["id"])
    assert again["status"] == "applied", again
    assert again["counts"]["students"]["created"] == 3000


def test_r18_a_starting_server_process_fails_only_the_queued_runs_of_processes_gone(
    roster: Roster, tmp_path: Path
) -> None:
    """With `rollbook serve --workers N` a process may start (or be restarted) while another
    has a run queued: that run is the other's to execute, not an orphan."""
    sis = Sis(roster, tmp_path)
    live, gone, unknown = sis.queue(), sis.queue(), sis.queue()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with roster.db.writing() as session:
        for run_id, holder in (
            (gone, f"{socket.gethostname()}:{dead.pid}"),
            (unknown, None),  # queued before rollbook said by whom
        ):
            found = session.get(SyncRun, run_id)
            assert found is not None
            found.queued_by = holder
    with roster.db.session(write=False) as session:
        assert session.get(SyncRun, live).queued_by == f"{socket.gethostname()}:{os.getpid()}"  # type: ignore[union-attr]
    worker = SyncWorker(sis.engine, tmp_path / "uploads", process=False)
    worker.start()
    with roster.db.session(write=False) as session:
        status = {run_id: session.get(SyncRun, run_id).status for run_id in (live, gone, unknown)}  # type: ignore[union-attr]
    assert status == {live: "queued", gone: "failed", unknown: "failed"}


def test_r18_an_uploaded_run_waits_queued_for_its_organizations_lock(
    roster: Roster, tmp_path: Path
) -> None:
    """Another process's run holds the lock: the uploaded run stays queued, says what it
    waits for, and applies once the lock is free (never both at once)."""
    sis = Sis(roster, tmp_path)
    holder = sis.queue()
    acquire(roster.db, org_id=roster.org.id, run_id=holder)
    waiting = sis.queue()
    path = sis.path_of(district(students=3, teachers=1, classes=1))
    thread = threading.Thread(
        target=sis.engine.execute, args=(waiting, path), kwargs={"lock_wait": 120.0}
    )
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with roster.db.session(write=False) as session:
                run = session.get(SyncRun, waiting)
                assert run is not None
                status, phase = run.status, run.phase
            if phase:
                break
            time.sleep(0.01)
        assert (status, phase) == ("queued", f"waiting for run {holder} to finish")
    finally:
        release(roster.db, org_id=roster.org.id, run_id=holder)
        thread.join(timeout=120)
    assert sis.report(waiting).status == "applied"
    assert sis.report(waiting).entity_counts("students") == {"created": 3}


def test_r18_a_run_given_no_time_fails_at_once_when_the_lock_is_taken(
    roster: Roster, tmp_path: Path
) -> None:
    sis = Sis(roster, tmp_path)
    holder = sis.queue()
    acquire(roster.db, org_id=roster.org.id, run_id=holder)
    try:
        report = sis.run(district(students=2, teachers=1, classes=1))
    finally:
        release(roster.db, org_id=roster.org.id, run_id=holder)
    assert report.status == "failed"
    assert f"another sync of this organization is running (run {holder})" in report.run["message"]
