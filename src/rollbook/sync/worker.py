"""Runs uploaded through the API, one at a time, away from the requests.

By default a run executes in a child process of its own, at a lower CPU priority: a sync is
long and busy in Python, and in a thread of the server it took the interpreter's lock from
the requests for its whole length (the load of bench/load.py waited for it). The requests
keep the server's process and the cores' first call; the sync takes what they leave. A run
whose child died (killed, out of memory) is marked failed by the lock's dead holder (R18),
and the next run gets a new child.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

from sqlalchemy import select

from rollbook.domain.catalogue import load_catalogue
from rollbook.store.db import SYNC_CACHE_MIB, Database
from rollbook.store.models import utcnow
from rollbook.store.sync_tables import SyncRun
from rollbook.sync.copies import SnapshotCopies
from rollbook.sync.engine import Engine, abandon, holder_alive, recover
from rollbook.sync.stage import clear_stage

log = logging.getLogger("rollbook.sync")
# How much lower a sync's CPU priority is than the server's (`nice`, 0-19).
SYNC_NICENESS = 10
# How long an uploaded run waits for its organization's lock before it fails.
LOCK_WAIT_SECONDS = 2 * 3600.0


@dataclass(frozen=True, slots=True)
class ChildSetup:
    """What a child process needs to run syncs: picklable, no open connection."""

    database_url: str
    catalogue: str | None
    max_unpacked_bytes: int
    niceness: int
    copies: Path | None = None


_child_engine: Engine | None = None


def _child_start(setup: ChildSetup) -> None:
    global _child_engine  # noqa: PLW0603 - one engine per child process
    if setup.niceness:
        os.nice(setup.niceness)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    db = Database.connect(setup.database_url, pool_size=2, cache_mib=SYNC_CACHE_MIB)
    _child_engine = Engine(
        db,
        load_catalogue(setup.catalogue),
        max_unpacked_bytes=setup.max_unpacked_bytes,
        copies=SnapshotCopies(setup.copies) if setup.copies else None,
        own_process=True,
    )


def _execute(engine: Engine, run_id: int, path: Path) -> None:
    try:
        # Another server process may be running a sync of the same organization: this run
        # waits for it, queued, as it would behind a run of this process (R18).
        engine.execute(run_id, path, lock_wait=LOCK_WAIT_SECONDS)
    except Exception:
        log.exception("sync run %s crashed", run_id)
    finally:
        path.unlink(missing_ok=True)


def _child_run(run_id: int, path: str) -> None:
    assert _child_engine is not None, "the child process was not started by _child_start"
    _execute(_child_engine, run_id, Path(path))


class SyncWorker:
    """Executes queued runs in order; the request that queued one answers at once.

    `catalogue` is the catalogue file the child loads (None: the bundled one); with
    `process=False` runs execute in a thread of this process instead (one SQLite database in
    memory cannot be shared with a child).
    """

    def __init__(
        self,
        engine: Engine,
        upload_dir: Path,
        *,
        catalogue: str | None = None,
        process: bool = True,
        niceness: int = SYNC_NICENESS,
    ) -> None:
        self.engine = engine
        self.upload_dir = upload_dir
        url = engine.db.engine.url
        self._setup = ChildSetup(
            database_url=url.render_as_string(hide_password=False),
            catalogue=catalogue,
            max_unpacked_bytes=engine.max_unpacked_bytes,
            niceness=niceness,
            copies=engine.copies.root if engine.copies else None,
        )
        self.process = process and url.database not in (None, "", ":memory:")
        self._lock = Lock()
        self._pool: Executor | None = None

    def start(self) -> None:
        """Clean up after a previous process: its queued and running runs will never finish."""
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        recover(self.engine.db)
        fail_orphans(self.engine.db)

    def _executor(self) -> Executor:
        with self._lock:
            if self._pool is None:
                if self.process:
                    self._pool = ProcessPoolExecutor(
                        max_workers=1,
                        mp_context=multiprocessing.get_context("spawn"),
                        initializer=_child_start,
                        initargs=(self._setup,),
                    )
                else:
                    self._pool = ThreadPoolExecutor(
                        max_workers=1, thread_name_prefix="rollbook-sync"
                    )
            return self._pool

    def submit(self, run_id: int, path: Path) -> Future[None]:
        if not self.process:
            return self._executor().submit(_execute, self.engine, run_id, path)
        pool = self._executor()
        try:
            future = pool.submit(_child_run, run_id, str(path))
        except BrokenProcessPool:  # its child died since the last run ended
            self._replace(pool)
            pool = self._executor()
            future = pool.submit(_child_run, run_id, str(path))
        future.add_done_callback(lambda done: self._after(done, pool, run_id, path))
        return future

    def _after(self, done: Future[None], pool: Executor, run_id: int, path: Path) -> None:
        if done.cancelled() or not isinstance(done.exception(), BrokenProcessPool):
            return
        log.error("the process running sync run %s stopped", run_id)
        path.unlink(missing_ok=True)
        self._replace(pool)
        abandon(self.engine.db, run_id)

    def _replace(self, broken: Executor) -> None:
        """The next run gets a new child (once, however many runs the dead one took along)."""
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=False)


def fail_orphans(db: Database) -> None:
    """Queued runs of a process that is gone never ran: say so instead of leaving them queued.
    Those of a live process (another server process, a command) are its to run."""
    with db.writing() as session:
        for run in session.scalars(select(SyncRun).where(SyncRun.status == "queued")):
            if run.queued_by is not None and holder_alive(run.queued_by):
                continue
            run.status, run.finished_at = "failed", utcnow()
            run.message = "rollbook stopped before this run started: upload the snapshot again"
            clear_stage(session, run.id)
