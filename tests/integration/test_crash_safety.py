"""R18, also when killed: `rollbook sync` killed with SIGKILL at random moments.

The real command runs in a child process on a generated district (quality.md: "kill -9 of a
sync at random moments, 20 times"). Each kill is aimed at a moment of the run (before the
run exists, queued, staging, applying, after the commit), the moment within it drawn from a
seeded random generator; the starting state alternates between an empty organization (the
killed run is day 1) and one that applied day 1 (the killed run is day 2). After each kill:

- the roster (`canonical`: people, their schools, classes, memberships, class products and
  product settings) equals exactly the state before the run or the state a clean run of the
  same snapshot leaves;
- the database passes its integrity check (SQLite) or answers normally (PostgreSQL);
- the next `rollbook sync` of the snapshot is `applied` and converges to the clean state;
- the killed run is no longer `queued` or `running`, and its lock is gone.

The default run makes a few kills per backend; `make crash` (ROLLBOOK_CRASH_KILLS=20) makes
twenty. ROLLBOOK_CRASH_STUDENTS sets the district's size and ROLLBOOK_CRASH_SEED the seed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from rollbook.generate import District, write_district
from rollbook.store.db import Database
from rollbook.store.integrity import dangling_references
from rollbook.store.sync_tables import SyncLock, SyncRun
from tests.factories import Roster
from tests.integration.syncing import Sis, canonical, rollbook_command

KILLS = int(os.environ.get("ROLLBOOK_CRASH_KILLS", "4"))
STUDENTS = int(os.environ.get("ROLLBOOK_CRASH_STUDENTS", "3000"))
SEED = int(os.environ.get("ROLLBOOK_CRASH_SEED", "20240518"))
# Where each kill is aimed, in turn (then drawn at random): every part of a run is covered
# by the first five, and applying (the transaction that matters) most often.
PLAN = ("applying", "staging", "queued", "applying", "startup", "finishing", "staging", "applying")
TIMEOUT = 300.0

pytestmark = pytest.mark.slow


@dataclass
class Timeline:
    """When a clean run reached each of its moments, in seconds after the process started."""

    marks: dict[str, float] = field(default_factory=dict)

    def span(self, start: str, end: str) -> float:
        return max(0.005, self.marks.get(end, 0.0) - self.marks.get(start, 0.0))


class Child:
    """One `rollbook sync` in a child process, watched through the database."""

    def __init__(self, backend: str, db: Database, org_id: int, slug: str, path: Path) -> None:
        env = {**os.environ, "ROLLBOOK_DATABASE_URL": backend, "NO_COLOR": "1"}
        self.db = db
        self.org_id = org_id
        self.after = self._newest_id()
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [*rollbook_command(), "sync", slug, str(path), "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.seen: tuple[int, str, str | None] | None = None

    def _newest_id(self) -> int:
        with self.db.session(write=False) as session:
            return int(
                session.scalar(select(func.max(SyncRun.id)).where(SyncRun.org_id == self.org_id))
                or 0
            )

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def moment(self) -> str:
        """Where the run is now: startup (no run yet), queued, a phase, or its outcome."""
        with self.db.session(write=False) as session:
            row = session.execute(
                select(SyncRun.id, SyncRun.status, SyncRun.phase)
                .where(SyncRun.org_id == self.org_id, SyncRun.id > self.after)
                .order_by(SyncRun.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return "startup"
        self.seen = (int(row.id), row.status, row.phase)
        if row.status == "running":
            return str(row.phase or "running")
        return str(row.status)

    def wait_for(self, wanted: set[str]) -> str:
        """Poll until the run reaches one of `wanted` (or the process ends)."""
        while True:
            now = self.moment()
            if now in wanted or self.process.poll() is not None:
                return now
            if self.elapsed() > TIMEOUT:
                raise AssertionError(f"the run never reached {wanted}; it is at {now}")
            time.sleep(0.003)

    def finish(self) -> dict[str, Any]:
        out, err = self.process.communicate(timeout=TIMEOUT)
        assert "Traceback" not in out + err, err
        assert self.process.returncode == 0, (self.process.returncode, out[-2000:], err[-2000:])
        run: dict[str, Any] = json.loads(out)
        return run

    def timeline(self) -> Timeline:
        """Run to the end, noting when each moment was first seen."""
        line = Timeline()
        while self.process.poll() is None:
            line.marks.setdefault(self.moment(), self.elapsed())
            time.sleep(0.003)
        line.marks["exit"] = self.elapsed()
        return line


@dataclass
class Reference:
    """The clean runs: roster after day 1 and after day 2, and how long each part took."""

    day1: Path
    day2: Path
    after_day1: dict[str, Any]
    after_day2: dict[str, Any]
    timelines: dict[str, Timeline]


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("crash-district")
    for day in (1, 2):
        write_district(root / f"day{day}", District(students=STUDENTS, seed=SEED % 1000, day=day))
    return root / "day1", root / "day2"


def _reference(
    backend: str, db: Database, client: TestClient, days: tuple[Path, Path]
) -> Reference:
    roster = Roster.new(db, client)
    timelines = {}
    states = []
    for start, path in zip(("empty", "day1"), days, strict=True):
        child = Child(backend, db, roster.org.id, roster.slug, path)
        timelines[start] = child.timeline()
        assert child.finish()["status"] == "applied"
        states.append(canonical(db, roster.org.id))
    assert states[0]["people"] and states[0] != states[1]
    return Reference(days[0], days[1], states[0], states[1], timelines)


def _integrity(backend: str, db: Database) -> None:
    url = make_url(backend)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(str(url.database)) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    # The references kept without constraints (store.models.refers_to), on both backends.
    with db.session(write=False) as session:
        dangling = dangling_references(session)
    assert not any(dangling.values()), dangling
    if url.get_backend_name() == "sqlite":
        return
    with db.engine.connect() as connection:
        for table in (
            "people",
            "person_schools",
            "classes",
            "memberships",
            "class_products",
            "product_settings",
            "changes",
            "sync_runs",
        ):
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() is not None


def _kill(child: Child, target: str, line: Timeline, rng: random.Random) -> tuple[str, float]:
    """SIGKILL the child at a random moment of `target`; returns where it was and when."""
    if target == "startup":
        delay = rng.uniform(0.0, line.marks.get("queued", 0.5))
        time.sleep(max(0.0, delay - child.elapsed()))
    else:
        first = {"finishing": "applied", "queued": "queued"}.get(target, target)
        later = {
            "queued": {"queued", "reading", "staging", "applying"},
            "staging": {"staging", "applying"},
            "applying": {"applying"},
            "finishing": set(),
        }[target] | {"applied", "failed", "rejected"}
        child.wait_for({first} | later)
        span = {
            "queued": line.span("queued", "staging"),
            "staging": line.span("staging", "applying"),
            "applying": line.span("applying", "applied"),
            "finishing": line.span("applied", "exit"),
        }[target]
        time.sleep(rng.uniform(0.0, span))
    where = child.moment() if child.process.poll() is None else "exited"
    at = child.elapsed()
    if child.process.poll() is None:
        child.process.send_signal(signal.SIGKILL)
    child.process.communicate(timeout=TIMEOUT)  # reaped: its pid is gone, as after a crash
    return where, at


def test_r18_kill_9_at_random_moments_leaves_before_or_after(
    backend: str, db: Database, client: TestClient, days: tuple[Path, Path], tmp_path: Path
) -> None:
    reference = _reference(backend, db, client, days)
    rng = random.Random(SEED)
    outcomes: Counter[str] = Counter()
    lines = []
    for kill in range(KILLS):
        start = "empty" if kill % 2 == 0 else "day1"
        roster = Roster.new(db, client)
        if start == "day1":
            assert Sis(roster, tmp_path).run(reference.day1, changes=False).status == "applied"
        before = canonical(db, roster.org.id)
        assert before == (reference.after_day1 if start == "day1" else canonical(db, -1))
        path = reference.day2 if start == "day1" else reference.day1
        after = reference.after_day2 if start == "day1" else reference.after_day1
        target = PLAN[kill] if kill < len(PLAN) else rng.choice(PLAN)

        child = Child(backend, db, roster.org.id, roster.slug, path)
        where, at = _kill(child, target, reference.timelines[start], rng)
        killed = child.seen[0] if child.seen else None

        state = canonical(db, roster.org.id)
        assert state in (before, after), f"kill {kill} at {where}: the roster is half applied"
        left = "before" if state == before else "after"
        _integrity(backend, db)

        again = Child(backend, db, roster.org.id, roster.slug, path).finish()
        assert again["status"] == "applied", again
        assert canonical(db, roster.org.id) == after
        with db.session(write=False) as session:
            statuses = dict(
                session.execute(
                    select(SyncRun.id, SyncRun.status).where(SyncRun.org_id == roster.org.id)
                ).all()
            )
            assert session.get(SyncLock, roster.org.id) is None
            message = session.scalar(select(SyncRun.message).where(SyncRun.id == killed))
        assert not {s for s in statuses.values() if s in ("queued", "running")}, statuses
        final = statuses.get(killed, "-") if killed else "-"
        if final == "failed":
            assert message and "stopped" in message, message
        if left == "before" and killed:
            assert final == "failed", (where, final)
        outcomes[left] += 1
        lines.append(
            f"kill {kill + 1:2}: {start:5} → aimed at {target:9}, killed at {at:5.2f}s in "
            f"{where:9}; roster {left:6}; killed run {final}"
        )
    summary = ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items()))
    name = make_url(backend).get_backend_name()
    print(f"\n{name}: {KILLS} kills of `rollbook sync` ({STUDENTS:,} students):")
    print("\n".join(lines))
    print(f"roster left: {summary}; every next run applied and converged")
