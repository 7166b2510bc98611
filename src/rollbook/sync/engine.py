"""A sync run from start to end: lock, read, stage, plan-and-apply in one transaction, report.

The plan and the apply are one pass inside one transaction (R18: all or nothing, also when
the process is killed). A dry run (R21) and a run held for approval (R20) take the very same
pass and roll it back, so a preview is exactly what applying would do; their changes are
kept as the run's preview.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from rollbook.domain.catalogue import Catalogue
from rollbook.domain.errors import RollbookError
from rollbook.domain.merge import needs_approval
from rollbook.domain.permissions import Actor
from rollbook.store.bulk import delete_run_rows
from rollbook.store.db import Database
from rollbook.store.models import Change, Class, Org, Person, table_of, utcnow
from rollbook.store.sync_tables import (
    SyncConflict,
    SyncIssue,
    SyncKey,
    SyncLock,
    SyncMember,
    SyncProduct,
    SyncRun,
)
from rollbook.sync.classes import ClassesStep
from rollbook.sync.columns import FILE_KEYS
from rollbook.sync.context import FINDINGS, PLURAL, ChangeLog, RunContext, empty_counts
from rollbook.sync.copies import Kept, SnapshotCopies, Writing
from rollbook.sync.fingerprint import Fingerprinting, snapshot_fingerprint
from rollbook.sync.noop import copy_findings, noop_counts, unchanged_since
from rollbook.sync.parse import Snapshot
from rollbook.sync.people import PeopleStep
from rollbook.sync.quick import MAX_CHANGED, Quick, Refused, salt
from rollbook.sync.records import Issue, SnapshotRejected
from rollbook.sync.relations import apply_memberships, apply_products, resolve_existing
from rollbook.sync.schools import apply_schools
from rollbook.sync.sources.oneroster_csv import open_snapshot
from rollbook.sync.stage import clear_stage, stage_snapshot
from rollbook.sync.writes import (
    FEW_CHANGES,
    ConcurrentEdit,
    analyze,
    analyze_staged,
    sort_memory,
)

log = logging.getLogger("rollbook.sync")
Progress = Callable[[str, int], None]
ATTEMPTS = 3
# How often a run waiting for its organization's lock looks again.
LOCK_POLL_SECONDS = 0.5
FINAL = frozenset({"previewed", "applied", "discarded", "rejected", "failed"})


class RunBusy(RollbookError):
    """Another run of the organization holds its lock (R18)."""

    code = "sync_running"

    def __init__(self, run_id: int) -> None:
        super().__init__(
            f"another sync of this organization is running (run {run_id}): wait for it"
        )
        self.run_id = run_id


class NotWaiting(Exception):
    """Approve or discard of a run that is not waiting for a decision (R20)."""


def failure(error: Exception) -> str:
    """A failed run's message: never the database's words, which carry SQL and row values
    (the snapshot fuzzing found them in reports); those are in the server's log."""
    if isinstance(error, SQLAlchemyError):
        return "the run failed on a database error (logged on the server); nothing was applied"
    first = str(error).strip().splitlines()
    return f"the run failed: {first[0] if first else type(error).__name__}"


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_alive(holder: str) -> bool:
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine's process: trust its lock
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _fail_run(session: Session, run: SyncRun, message: str) -> None:
    run.status, run.message, run.finished_at = "failed", message, utcnow()
    clear_stage(session, run.id)


STOPPED = "the process running it stopped; nothing was applied"


def _fail_orphan(session: Session, run_id: int) -> bool:
    """The run of a process that is gone is failed, unless it had ended or was waiting for a
    decision (R20); whether it was."""
    run = session.get(SyncRun, run_id)
    if run is None or run.status in FINAL | {"needs_approval"}:
        return False
    _fail_run(session, run, STOPPED)
    return True


def acquire(db: Database, *, org_id: int, run_id: int) -> None:
    """R18: take the organization's sync lock, freeing it first if its holder has died."""
    try:
        with db.writing() as session:
            claim(session, org_id=org_id, run_id=run_id)
    except IntegrityError:
        with db.session(write=False) as session:
            taken = session.get(SyncLock, org_id)
        raise RunBusy(taken.run_id if taken else 0) from None


def claim(session: Session, *, org_id: int, run_id: int) -> None:
    """`acquire` inside the caller's transaction: the command line takes the lock in the one
    that creates its run, so a process killed before the run starts leaves a lock whose dead
    holder marks the run failed, not a run `queued` forever (R18)."""
    lock = session.get(SyncLock, org_id)
    if lock is not None and lock.run_id != run_id:
        if holder_alive(lock.holder):
            raise RunBusy(lock.run_id)
        _fail_orphan(session, lock.run_id)
        session.delete(lock)
        session.flush()
    if lock is None or lock.run_id != run_id:
        session.add(SyncLock(org_id=org_id, run_id=run_id, holder=holder_name()))
        session.flush()


def release(db: Database, *, org_id: int, run_id: int) -> None:
    with db.writing() as session:
        unlock(session, org_id=org_id, run_id=run_id)


def unlock(session: Session, *, org_id: int, run_id: int) -> None:
    """R18: drop a run's lock in the transaction that makes its outcome visible, so that
    whoever sees the outcome (and approves the run, or starts the next) finds it free, and
    no late release can drop a lock taken since."""
    session.execute(delete(SyncLock).where(SyncLock.org_id == org_id, SyncLock.run_id == run_id))


def recover(db: Database) -> int:
    """Mark failed the runs that a dead process left `running`; returns how many."""
    fixed = 0
    with db.writing() as session:
        for lock in list(session.scalars(select(SyncLock))):
            if not holder_alive(lock.holder):
                fixed += _fail_orphan(session, lock.run_id)
                session.delete(lock)
    return fixed


def abandon(db: Database, run_id: int) -> None:
    """A run whose process is known to be gone (the server saw its child die): failed unless
    it ended, its lock dropped, without waiting for `recover` to find the holder dead."""
    with db.writing() as session:
        run = session.get(SyncRun, run_id)
        if run is not None:
            _fail_orphan(session, run_id)
            unlock(session, org_id=run.org_id, run_id=run_id)


def create_run(session: Session, *, org: Org, actor: Actor, source: str, dry_run: bool) -> SyncRun:
    """A new run, queued."""
    run = SyncRun(
        org_id=org.id,
        status="queued",
        dry_run=dry_run,
        source=source[:1024],
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        counts=empty_counts(),
        queued_by=holder_name(),
    )
    session.add(run)
    session.flush()
    return run


@contextmanager
def collector_paused(pause: bool) -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (`pause`), on again after.

    A run holds millions of live objects and allocates millions more; the collector's passes
    over them were an eighth of a first sync's time (py-spy), and found almost nothing: the
    sync makes few reference cycles (peak memory of a first sync of 100,000 students 543 MiB
    with it, 548 MiB without). Only where the run is its process's only work: in the server
    the requests' threads would lose it too.
    """
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass
class Engine:
    """Runs syncs against one database with one product catalogue."""

    db: Database
    catalogue: Catalogue
    max_unpacked_bytes: int = 4 * 1024**3
    # Copies of each organization's last applied snapshot, to read the next by its changed
    # lines (sync/quick.py); None: every run reads its whole snapshot.
    copies: SnapshotCopies | None = None
    # The share of changed lines of a file beyond which a run reads it whole (faster then).
    quick_share: float = MAX_CHANGED
    # True where runs are their process's only work (the command line, the server's sync
    # child): Python's cyclic garbage collector pauses for each run (`collector_paused`).
    own_process: bool = False
    # Per run in flight: the memberships its enrollments made, for its copy's label.
    _facts: dict[int, int] = field(default_factory=dict, repr=False)

    def execute(
        self,
        run_id: int,
        path: Path,
        *,
        progress: Progress | None = None,
        lock_wait: float = 0.0,
    ) -> SyncRun:
        """Read, stage and apply (or preview) a queued run; returns it finished. A run of the
        same organization holding the lock fails it, or is waited for up to `lock_wait`
        seconds, the run staying queued (R18: never two at once)."""
        with collector_paused(self.own_process):
            return self._execute(run_id, path, progress=progress, lock_wait=lock_wait)

    def _execute(
        self, run_id: int, path: Path, *, progress: Progress | None, lock_wait: float
    ) -> SyncRun:
        with self.db.session(write=False) as session:
            run = session.get(SyncRun, run_id)
            assert run is not None
            org_id = run.org_id
        try:
            self._acquire(org_id, run_id, lock_wait)
        except RunBusy as busy:
            return self._finish(run_id, "failed", message=str(busy))
        writing: Writing | None = None
        fingerprint = Fingerprinting(partial(self._fingerprint, path))
        try:
            self._set(run_id, status="running", started_at=utcnow(), phase="reading")
            try:
                snapshot = open_snapshot(
                    path, max_unpacked_bytes=self.max_unpacked_bytes, catalogue=self.catalogue
                )
                files = _files(snapshot)
                kept = self.copies.latest(org_id) if self.copies is not None else None
                # The fingerprint serves to recognise the snapshot the last run applied
                # (R18); files of other sizes than its copy's are not that one, and their
                # fingerprint is worked out beside the run, stored before it applies.
                other = kept is not None and kept.surely_other(snapshot.source, files)
                self._set(
                    run_id,
                    mode=snapshot.mode,
                    oneroster_version=snapshot.version,
                    snapshot_hash=None if other else fingerprint.result(),
                    phase="staging",
                )
                with self.db.session(write=False) as session:
                    found = session.get(SyncRun, run_id)
                    assert found is not None
                    previous = None if other else unchanged_since(session, found)
                    dry_run = found.dry_run
                if previous is not None:
                    return self._noop(run_id, previous)
                if self.copies is not None and not dry_run and snapshot.mode == "full":
                    # Copied while the run applies; kept only if it is applied (`_keep`).
                    writing = self.copies.start(org_id, run_id, snapshot.source, files)
                done = self._quick(run_id, org_id, snapshot, kept, progress, writing, fingerprint)
                if done is not None:
                    return done
                fingerprint.start()
                staged = stage_snapshot(
                    self.db, snapshot, run_id=run_id, org_id=org_id, progress=progress
                )
            except SnapshotRejected as rejected:
                return self._reject(run_id, rejected.issues)
            log.info("run %s staged %s", run_id, staged.rows)
            self._staged(run_id, fingerprint)
            finished = self.apply(run_id, progress=progress)
            assert finished is not None
            self._keep(finished, snapshot, writing)
            return finished
        except Exception as error:
            log.exception("sync run %s failed", run_id)
            return self._fail(org_id, run_id, failure(error))
        except BaseException:
            release(self.db, org_id=org_id, run_id=run_id)
            raise
        finally:
            if writing is not None:
                writing.abandon()  # nothing, once `_keep` finished it
            fingerprint.wait()

    def _staged(self, run_id: int, fingerprint: Fingerprinting) -> None:
        hashed = fingerprint.result()
        with self.db.writing() as session:
            found = session.get(SyncRun, run_id)
            assert found is not None
            last = session.scalar(select(func.max(SyncIssue.id)).where(SyncIssue.run_id == run_id))
            found.stage_issue_max, found.phase = last or 0, "applying"
            found.snapshot_hash = hashed
            analyze_staged(session)

    def _quick(
        self,
        run_id: int,
        org_id: int,
        snapshot: Snapshot,
        kept: Kept | None,
        progress: Progress | None,
        writing: Writing | None,
        fingerprint: Fingerprinting,
    ) -> SyncRun | None:
        """The run read by its changed lines (sync/quick.py), finished; None when it must
        read the whole snapshot (nothing of the attempt is left)."""
        if kept is None:
            return None
        try:
            with self.db.session(write=False) as session:
                run = session.get(SyncRun, run_id)
                assert run is not None
                quick = Quick.plan(
                    session, run, snapshot, kept, self.catalogue, most=self.quick_share
                )
            log.info("run %s reads the changed lines: %s", run_id, quick.changed)
            # Both cores were comparing files; from here the database works on one.
            fingerprint.start()
            stage_snapshot(
                self.db,
                snapshot.restricted(quick.only),
                run_id=run_id,
                org_id=org_id,
                progress=progress,
            )
            quick.stage_removed(self.db, run_id)
            self._staged(run_id, fingerprint)
            finished = self.apply(run_id, progress=progress, quick=quick)
        except Refused as refused:
            log.info("run %s reads the whole snapshot: %s", run_id, refused)
            return None
        except Exception:
            # Nothing was committed but staged rows: the whole snapshot decides.
            log.exception("run %s: reading by its changes failed; reading it whole", run_id)
            finished = None
        if finished is None:
            with self.db.writing() as session:
                clear_stage(session, run_id)
                session.execute(delete(SyncIssue).where(SyncIssue.run_id == run_id))
            return None
        self._keep(finished, snapshot, writing, quick=quick)
        return finished

    def _keep(
        self,
        run: SyncRun,
        snapshot: Snapshot,
        writing: Writing | None,
        *,
        quick: Quick | None = None,
    ) -> None:
        """An applied run leaves a copy of its snapshot for the next run to compare with,
        when its outcome is that of reading it line by line: clean, each line one entity or
        membership (sync/quick.py). Otherwise no copy is left."""
        facts = self._facts.pop(run.id, None)
        if self.copies is None or run.status != "applied":
            return
        counts = run.counts or {}
        records = counts.get("records", {})
        clean = not any(counts.get(k) for k in FINDINGS)
        if writing is None or facts is None or not clean or run.mode != "full":
            if writing is not None:
                writing.abandon()
            self.copies.drop(run.org_id)
            return
        kept = writing.finish(
            {
                "snapshot_hash": run.snapshot_hash,
                "salt": salt(self.catalogue, snapshot.version),
                "records": records,
                "members": facts,
            },
        )
        if kept is None or quick is not None:
            return
        # A run that read its whole snapshot: its copy serves only if each line made one
        # entity or membership, as the next run's checks assume.
        people = records.get("students", 0) + records.get("educators", 0)
        expected = {"users": people, "classes": records.get("classes", 0), "enrollments": facts}
        for key, wanted in expected.items():
            if key in writing.files and kept.lines(key) != wanted:
                log.info("run %s: %s does not make one entity a line; no copy kept", run.id, key)
                self.copies.drop(run.org_id)
                return

    def _acquire(self, org_id: int, run_id: int, wait: float) -> None:
        deadline = time.monotonic() + wait
        waiting_for = None
        while True:
            try:
                acquire(self.db, org_id=org_id, run_id=run_id)
                return
            except RunBusy as busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise
                if busy.run_id != waiting_for:
                    waiting_for = busy.run_id
                    # The run's page and `rollbook runs` say what it waits for.
                    self._set(run_id, phase=f"waiting for run {busy.run_id} to finish")
                time.sleep(min(LOCK_POLL_SECONDS, left))

    def _fingerprint(self, path: Path) -> str | None:
        try:
            return snapshot_fingerprint(
                path,
                catalogue_text=repr(self.catalogue.products),
                max_unpacked_bytes=self.max_unpacked_bytes,
            )
        except (OSError, ValueError, zipfile.BadZipFile):
            return None  # the source stage refuses such a snapshot with its own message

    def _noop(self, run_id: int, last: SyncRun) -> SyncRun:
        """The same snapshot as the last applied run, nothing edited since: nothing to do."""
        with self.db.writing() as session:
            run = session.get(SyncRun, run_id)
            assert run is not None
            copy_findings(session, source=last.id, target=run.id)
            status = "previewed" if run.dry_run else "applied"
            self._close(run, status, noop_counts(last.counts), would_need=False)
            # Nothing was applied: hand edits still count from when the last run applied.
            run.apply_started_at = last.apply_started_at
            run.message = (
                f"The snapshot is the one run {last.id} applied, and nothing was edited by hand "
                "since: every entity is unchanged."
            )
            clear_stage(session, run_id)
            unlock(session, org_id=run.org_id, run_id=run_id)
            session.flush()
            session.expunge(run)
        return run

    def _fail(self, org_id: int, run_id: int, message: str) -> SyncRun:
        """Write a failed outcome, which releases the lock; if even that fails, release."""
        try:
            return self._finish(run_id, "failed", message=message)
        except BaseException:
            release(self.db, org_id=org_id, run_id=run_id)
            raise

    def apply(
        self,
        run_id: int,
        *,
        approving: bool = False,
        progress: Progress | None = None,
        quick: Quick | None = None,
    ) -> SyncRun | None:
        """Plan and apply the staged snapshot of a run; a dry or held run is rolled back. A
        run staged by its changed lines (`quick`) whose outcome could differ from the whole
        snapshot's is rolled back and None returned."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with collector_paused(self.own_process):
                    return self._apply_once(
                        run_id,
                        approving=approving,
                        progress=progress,
                        quick=quick,
                    )
            except ConcurrentEdit as edit:
                log.info("run %s: %s; attempt %s of %s", run_id, edit, attempt, ATTEMPTS)
        return self._finish(
            run_id, "failed", message="people kept editing the roster during the run"
        )

    def _apply_once(
        self,
        run_id: int,
        *,
        approving: bool,
        progress: Progress | None,
        quick: Quick | None,
    ) -> SyncRun | None:
        with self.db.session(write=True) as session:
            run = session.get(SyncRun, run_id)
            org = session.get(Org, run.org_id) if run else None
            assert run is not None and org is not None
            actor = Actor("sync", str(run.id), f"sync run {run.id}", org.id, run_id=run.id)
            ctx = RunContext(
                session=session,
                org=org,
                run_id=run.id,
                mode="delta" if quick else run.mode or "full",
                version=run.oneroster_version or "1.2",
                catalogue=self.catalogue,
                log=ChangeLog(session, org.id, run.id, actor, preview=run.dry_run),
                gone=quick.gone if quick else None,
                first=not session.scalar(select(exists().where(Person.org_id == org.id))),
            )
            if quick is not None:
                if not quick.catch_up(session, run_id=run.id, org_id=run.org_id):
                    # A hand edit since the lines were chosen that other lines cannot undo.
                    log.info(
                        "run %s reads the whole snapshot after all: edited by hand meanwhile",
                        run.id,
                    )
                    session.rollback()
                    return None
                session.info[FEW_CHANGES] = True
            run.apply_started_at = utcnow()
            # Issues of an earlier pass over the same staged snapshot are found again.
            session.execute(
                delete(SyncIssue).where(
                    SyncIssue.run_id == run.id, SyncIssue.id > run.stage_issue_max
                )
            )
            staged_issues = self._issue_counts(session, run.id)
            try:
                self._steps(ctx, progress)
                ctx.log.flush()
                held = not approving and _over_threshold(ctx, org.threshold_percent)
                keep = not run.dry_run and not held
                counts = ctx.counts
                if quick is not None:
                    why = (
                        "held by the threshold"
                        if held
                        else quick.check(ctx, staged_issues["error"] + staged_issues["warning"])
                    )
                    if why is not None:
                        log.info("run %s reads the whole snapshot after all: %s", run.id, why)
                        ctx.log.discard()
                        session.rollback()
                        return None
                    self._facts[run.id] = quick.lines.get("enrollments", 0)
                else:
                    counts["records"] = _records(session, run.id)
                    if self.copies is not None and keep and run.mode == "full":
                        self._facts[run.id] = ctx.members_sent
                _drop_work_tables(session, run.id)
                counts["errors"] += staged_issues["error"]
                counts["warnings"] += staged_issues["warning"]
                if keep:
                    self._close(run, "applied", counts, would_need=False)
                    clear_stage(session, run.id)
                    unlock(session, org_id=run.org_id, run_id=run.id)
                    session.commit()
                    return run
                if not run.dry_run:
                    ctx.log.preview = True
                    ctx.log.absorb()
                conflicts = _conflict_rows(session, run.id)
                issues = _issue_rows(session, run.id, after=run.stage_issue_max)
                session.rollback()
            except BaseException:
                ctx.log.discard()
                session.rollback()
                raise
        return self._after_rollback(run_id, ctx, counts, held, conflicts, issues)

    def _steps(self, ctx: RunContext, progress: Progress | None) -> None:
        sort_memory(ctx.session)
        analyze(ctx, Person, Class)
        for name, step in (
            ("schools", apply_schools),
            ("people", lambda c: PeopleStep(c).run()),
            ("classes", lambda c: ClassesStep(c).run()),
            ("memberships", _memberships),
            ("products", apply_products),
        ):
            if progress:
                progress(f"applying {name}", 0)
            step(ctx)

    def _after_rollback(
        self,
        run_id: int,
        ctx: RunContext,
        counts: dict[str, Any],
        held: bool,
        conflicts: list[dict[str, Any]],
        issues: list[dict[str, Any]],
    ) -> SyncRun:
        with self.db.writing() as session:
            run = session.get(SyncRun, run_id)
            assert run is not None
            ctx.log.write_preview(session)
            # The rollback took the conflicts and planning issues with it: keep them.
            if conflicts:
                session.execute(table_of(SyncConflict).insert(), conflicts)
            if issues:
                session.execute(table_of(SyncIssue).insert(), issues)
            if run.dry_run:
                self._close(run, "previewed", counts, would_need=held)
                clear_stage(session, run.id)
            else:
                self._close(run, "needs_approval", counts, would_need=True)
                run.finished_at = None
            unlock(session, org_id=run.org_id, run_id=run.id)
            session.flush()
            session.expunge(run)
        return run

    def _close(
        self, run: SyncRun, status: str, counts: dict[str, Any], *, would_need: bool
    ) -> None:
        run.status, run.counts, run.would_need_approval = status, counts, would_need
        run.finished_at, run.phase = utcnow(), None

    def _issue_counts(self, session: Session, run_id: int) -> dict[str, int]:
        rows = session.execute(
            select(SyncIssue.severity, SyncIssue.id).where(SyncIssue.run_id == run_id)
        ).all()
        found = {"error": 0, "warning": 0}
        for severity, _ in rows:
            found[severity] = found.get(severity, 0) + 1
        return found

    def _set(self, run_id: int, **values: Any) -> None:
        with self.db.writing() as session:
            run = session.get(SyncRun, run_id)
            assert run is not None
            for name, value in values.items():
                setattr(run, name, value)

    def _finish(self, run_id: int, status: str, *, message: str) -> SyncRun:
        with self.db.writing() as session:
            run = session.get(SyncRun, run_id)
            assert run is not None
            run.status, run.message, run.finished_at, run.phase = status, message, utcnow(), None
            clear_stage(session, run_id)
            unlock(session, org_id=run.org_id, run_id=run_id)
            session.flush()
            session.expunge(run)
        return run

    def _reject(self, run_id: int, issues: list[Issue]) -> SyncRun:
        """R22: an unusable snapshot is kept as a rejected run with its errors; nothing applied."""
        with self.db.writing() as session:
            run = session.get(SyncRun, run_id)
            assert run is not None
            session.execute(
                table_of(SyncIssue).insert(),
                [
                    {"run_id": run_id, "org_id": run.org_id, "severity": i.severity, **i.as_dict()}
                    for i in issues
                ],
            )
            counts = empty_counts()
            counts["errors"] = sum(i.severity == "error" for i in issues)
            counts["warnings"] = len(issues) - counts["errors"]
            run.counts = counts
            run.status, run.finished_at, run.phase = "rejected", utcnow(), None
            run.message = issues[0].message if issues else "the snapshot cannot be read"
            clear_stage(session, run_id)
            unlock(session, org_id=run.org_id, run_id=run_id)
            session.flush()
            session.expunge(run)
        return run

    def decide(self, run_id: int, *, approve: bool, by: str) -> SyncRun:
        """R20: apply a held run against the roster as it is now, or discard it."""
        with self.db.session(write=False) as session:
            run = session.get(SyncRun, run_id)
            if run is None or run.status != "needs_approval":
                raise NotWaiting(f"run {run_id} is not waiting for a decision")
            org_id = run.org_id
        acquire(self.db, org_id=org_id, run_id=run_id)
        try:
            with self.db.writing() as session:
                run = session.get(SyncRun, run_id)
                assert run is not None
                if run.status != "needs_approval":
                    raise NotWaiting(f"run {run_id} is not waiting for a decision")
                run.decided_by = by
                session.execute(
                    delete(Change).where(Change.run_id == run_id, Change.preview.is_(True))
                )
                session.execute(delete(SyncConflict).where(SyncConflict.run_id == run_id))
                if not approve:
                    run.status, run.finished_at = "discarded", utcnow()
                    clear_stage(session, run_id)
                    unlock(session, org_id=org_id, run_id=run_id)
        except BaseException:
            release(self.db, org_id=org_id, run_id=run_id)
            raise
        if not approve:
            with self.db.session(write=False) as session:
                found = session.get(SyncRun, run_id)
                assert found is not None
                session.expunge(found)
                return found
        try:
            finished = self.apply(run_id, approving=True)
            assert finished is not None
            return finished
        except Exception as error:
            # As in execute(): the transaction rolled back; the run says why (R18).
            log.exception("approving sync run %s failed", run_id)
            return self._fail(org_id, run_id, failure(error))
        except BaseException:
            release(self.db, org_id=org_id, run_id=run_id)
            raise


def _memberships(ctx: RunContext) -> None:
    if not ctx.full:
        resolve_existing(ctx)
    apply_memberships(ctx)


def _over_threshold(ctx: RunContext, threshold_percent: int) -> bool:
    """R20, for students, educators and classes separately."""
    return any(
        needs_approval(
            active=ctx.active_before.get(kind, 0),
            deactivating=ctx.deactivating.get(kind, 0),
            threshold_percent=threshold_percent,
        )
        for kind in ("student", "educator", "class")
    )


def _records(session: Session, run_id: int) -> dict[str, int]:
    """How many records of each kind the run resolved to an entity (for a later no-op run)."""
    found = dict.fromkeys(PLURAL.values(), 0)
    people = session.execute(
        select(Person.kind, func.count())
        .join(SyncKey, SyncKey.entity_id == Person.id)
        .where(SyncKey.run_id == run_id, SyncKey.kind == "person", SyncKey.state == "applied")
        .group_by(Person.kind)
    )
    for kind, count in people:
        found[PLURAL[kind]] = int(count)
    found["classes"] = int(
        session.scalar(
            select(func.count()).where(
                SyncKey.run_id == run_id, SyncKey.kind == "class", SyncKey.state == "applied"
            )
        )
        or 0
    )
    return found


def _files(snapshot: Snapshot) -> dict[str, str]:
    """The snapshot's files a copy keeps: key → stored name."""
    return {key: name for key in FILE_KEYS if (name := snapshot.stored_name(key))}


def _drop_work_tables(session: Session, run_id: int) -> None:
    for table in (SyncKey, SyncMember, SyncProduct):
        delete_run_rows(session, table_of(table), run_id)


def _conflict_rows(session: Session, run_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(table_of(SyncConflict)).where(SyncConflict.run_id == run_id)
    ).all()
    return [{k: v for k, v in r._mapping.items() if k != "id"} for r in rows]


def _issue_rows(session: Session, run_id: int, *, after: int) -> list[dict[str, Any]]:
    """Issues found while planning (those of staging were committed before)."""
    rows = session.execute(
        select(table_of(SyncIssue))
        .where(SyncIssue.run_id == run_id, SyncIssue.id > after)
        .order_by(SyncIssue.id)
    ).all()
    return [{k: v for k, v in r._mapping.items() if k != "id"} for r in rows]
