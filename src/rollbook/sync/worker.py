"""Runs uploaded through the API, one at a time, in a background thread."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select

from rollbook.store.db import Database
from rollbook.store.models import utcnow
from rollbook.store.sync_tables import SyncRun
from rollbook.sync.engine import Engine, recover
from rollbook.sync.stage import clear_stage

log = logging.getLogger("rollbook.sync")


class SyncWorker:
    """Executes queued runs in order; the request that queued one answers at once."""

    def __init__(self, engine: Engine, upload_dir: Path) -> None:
        self.engine = engine
        self.upload_dir = upload_dir
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rollbook-sync")

    def start(self) -> None:
        """Clean up after a previous process: its queued and running runs will never finish."""
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        recover(self.engine.db)
        fail_orphans(self.engine.db)

    def submit(self, run_id: int, path: Path) -> Future[None]:
        return self._pool.submit(self._run, run_id, path)

    def _run(self, run_id: int, path: Path) -> None:
        try:
            self.engine.execute(run_id, path)
        except Exception:
            log.exception("sync run %s crashed", run_id)
        finally:
            path.unlink(missing_ok=True)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)


def fail_orphans(db: Database) -> None:
    """Queued runs of a process that is gone never ran: say so instead of leaving them queued."""
    with db.writing() as session:
        for run in session.scalars(select(SyncRun).where(SyncRun.status == "queued")):
            run.status, run.finished_at = "failed", utcnow()
            run.message = "rollbook stopped before this run started: upload the snapshot again"
            clear_stage(session, run.id)
