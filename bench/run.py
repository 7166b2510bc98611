"""The sync benchmark: generate the district, measure the floor and every figure, print a table.

    python -m bench.run                          # N = 10,000 and 100,000, SQLite and PostgreSQL
    python -m bench.run --large                  # and N = 1,000,000 (takes minutes)
    python -m bench.run --sizes 10000 --backends sqlite

The floor is the time the database's own bulk import takes to load the same CSV files into
empty tables without indexes (`sqlite3 .import --csv`, `psql \\copy`), measured in the same
run on the same machine; every figure is a ratio to it. Each figure runs `rollbook sync` in
a child process, timed by the wall clock, with its peak resident memory from wait4(). On
PostgreSQL the database is vacuumed between figures, untimed, as autovacuum would (`settle`).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from rollbook.generate import District, write_district
from rollbook.store.db import Database

HERE = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
FIGURES = (
    "first sync",
    "same snapshot again",
    "1% changed: dry run, whole snapshot",
    "1% changed: dry run",
    "1% changed: apply",
)


@dataclass
class Measure:
    seconds: float
    peak_mib: float
    status: str = ""


@dataclass
class Result:
    backend: str
    students: int
    floor: Measure
    figures: dict[str, Measure] = field(default_factory=dict)


def run_child(args: Sequence[str], env: dict[str, str]) -> tuple[Measure, str]:
    """Run a command, returning its wall time, peak RSS (from wait4) and standard output."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(list(args), env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode not in (0, 3):
        raise RuntimeError(f"{' '.join(args)} failed ({child.returncode}): {stderr[-2000:]}")
    return Measure(elapsed, usage.ru_maxrss / 1024), stdout


def generate(out: Path, students: int) -> tuple[Path, Path]:
    """Day 1 and day 2 of the district, written once and kept for later runs."""
    days = []
    for day in (1, 2):
        folder = out / f"n{students}" / f"day{day}"
        if not (folder / "manifest.csv").exists():
            tmp = folder.with_suffix(".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            write_district(tmp, District(students=students, seed=1, day=day))
            tmp.rename(folder)
        days.append(folder)
    return days[0], days[1]


def csv_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.csv") if p.name != "manifest.csv")


def floor_sqlite(folder: Path, work: Path) -> Measure:
    """`sqlite3 .import --csv` of every file into empty tables without indexes."""
    target = work / "floor.db"
    target.unlink(missing_ok=True)
    commands = [".mode csv"] + [f".import --csv {p} {p.stem}" for p in csv_files(folder)]
    measure, _ = run_child(["sqlite3", str(target), *commands], dict(os.environ))
    target.unlink(missing_ok=True)
    return measure


def _pg_database(base: str, name: str) -> str:
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + f"/{name}"


def _pg_drop(base: str, name: str) -> None:
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def floor_postgres(folder: Path, base: str) -> Measure:
    """`psql \\copy` of every file into empty text tables without indexes."""
    name = f"rollbook_floor_{uuid.uuid4().hex[:8]}"
    url = _pg_database(base, name)
    try:
        script = []
        for path in csv_files(folder):
            with path.open(newline="") as handle:
                header = next(csv.reader(handle))
            columns = ", ".join(f'"{c}" text' for c in header)
            script.append(f'CREATE TABLE "{path.stem}" ({columns});')
            script.append(f"\\copy \"{path.stem}\" FROM '{path}' WITH (FORMAT csv, HEADER true)")
        sql = work_file(folder.parent, "floor.sql", "\n".join(script) + "\n")
        measure, _ = run_child(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(sql)], dict(os.environ)
        )
        return measure
    finally:
        _pg_drop(base, name)


def work_file(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def rollbook(env: dict[str, str], *args: str) -> tuple[Measure, dict[str, object]]:
    measure, stdout = run_child([sys.executable, "-m", "bench.rollbook_main", *args], env)
    report = json.loads(stdout) if args[0] == "sync" else {}
    measure.status = str(report.get("status", ""))
    return measure, report


def figures(
    url: str, day1: Path, day2: Path, copies: Path, *, first_only: bool = False
) -> dict[str, Measure]:
    """The four sync figures of quality.md, in one fresh database (or the first alone); and
    the dry run of day 2 reading the whole snapshot, to compare with reading its changes."""
    env = {**os.environ, "ROLLBOOK_DATABASE_URL": url, "ROLLBOOK_SNAPSHOT_COPIES": str(copies)}
    rollbook(env, "org", "create", "bench", "--name", "Benchmark District", "--threshold", "100")
    found: dict[str, Measure] = {}
    found["first sync"], _ = rollbook(env, "sync", "bench", str(day1), "--json")
    if first_only:
        return found
    settle(url)
    found["same snapshot again"], report = rollbook(env, "sync", "bench", str(day1), "--json")
    _assert_unchanged(report)
    whole = {**env, "ROLLBOOK_SNAPSHOT_COPIES": "off"}
    settle(url)
    found["1% changed: dry run, whole snapshot"], read_whole = rollbook(
        whole, "sync", "bench", str(day2), "--dry-run", "--json"
    )
    settle(url)
    found["1% changed: dry run"], by_changes = rollbook(
        env, "sync", "bench", str(day2), "--dry-run", "--json"
    )
    if read_whole.get("counts") != by_changes.get("counts"):
        raise RuntimeError("day 2 read by its changes reports otherwise than read whole")
    settle(url)
    found["1% changed: apply"], _ = rollbook(env, "sync", "bench", str(day2), "--json")
    return found


def settle(url: str) -> None:
    """PostgreSQL: VACUUM the database, untimed, as autovacuum (on by default) does within a
    minute of a run's millions of inserted and deleted rows, so that each figure is that of a
    database served since, not of the first minute: between two figures here, and after day 1
    in bench.load. This machine's server runs without it. At 1,000,000 students day 2's dry
    run took 13.9 s and its application 11.7 s after the runs before them; 9.1 s and 9.4 s
    with the database vacuumed before each, 11.8 s and 11.3 s with only the staging tables
    vacuumed. An index-only scan reads the table for every row it finds until then: a search
    for "Ben" took 37.8 ms (two of its three index scans each read 16,119 rows of the table),
    11.7 ms after VACUUM (0.5 s for `people`, about 3 s for the roster's tables)."""
    db = Database.connect(url)
    try:
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM")
    finally:
        db.dispose()


def _assert_unchanged(report: dict[str, object]) -> None:
    counts = report["counts"]
    assert isinstance(counts, dict)
    for kind in ("students", "educators", "classes"):
        changed = {k: v for k, v in counts[kind].items() if k != "unchanged" and v}
        if changed:
            raise RuntimeError(f"the same snapshot again changed {kind}: {changed}")


def bench_one(
    backend: str, students: int, out: Path, pg_base: str, *, first_only: bool = False
) -> Result:
    day1, day2 = generate(out, students)
    work = out / f"n{students}" / backend
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if backend == "sqlite":
        floor = floor_sqlite(day1, work)
        found = figures(
            f"sqlite:///{work / 'rollbook.db'}", day1, day2, work / "copies", first_only=first_only
        )
        shutil.rmtree(work, ignore_errors=True)
        return Result(backend, students, floor, found)
    floor = floor_postgres(day1, pg_base)
    name = f"rollbook_bench_{uuid.uuid4().hex[:8]}"
    url = _pg_database(pg_base, name)
    try:
        found = figures(url, day1, day2, work / "copies", first_only=first_only)
    finally:
        _pg_drop(pg_base, name)
        shutil.rmtree(work, ignore_errors=True)
    return Result(backend, students, floor, found)


def table(results: list[Result]) -> str:
    """The results as a Markdown table: seconds, ratio to the floor, peak memory."""
    lines = [
        "| backend | students | figure | seconds | ratio to floor | peak MiB |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.students:,} | floor | {r.floor.seconds:.2f} | 1.00 | "
            f"{r.floor.peak_mib:.0f} |"
        )
        for name in FIGURES:
            if name not in r.figures:
                continue
            m = r.figures[name]
            ratio = m.seconds / r.floor.seconds if r.floor.seconds else float("nan")
            lines.append(
                f"| {r.backend} | {r.students:,} | {name} | {m.seconds:.2f} | {ratio:.2f} | "
                f"{m.peak_mib:.0f} |"
            )
    return "\n".join(lines)


def machine() -> str:
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kib = int(meminfo.read_text().split()[1])
        memory = f", {total_kib / 1024 / 1024:.1f} GiB memory"
    return (
        f"{platform.machine()}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"
    )


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated student counts")
    parser.add_argument("--large", action="store_true", help="add N = 1,000,000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--out", type=Path, default=HERE / "out", help="generated data and work files"
    )
    parser.add_argument(
        "--postgres", default=os.environ.get("ROLLBOOK_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument(
        "--first-only",
        action="store_true",
        help="measure the floor and the first sync only (its time and memory peak)",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.large:
        sizes.append(1_000_000)
    results = []
    for students in sizes:
        for backend in args.backends.split(","):
            print(f"… {backend}, {students:,} students", file=sys.stderr, flush=True)
            results.append(
                bench_one(backend, students, args.out, args.postgres, first_only=args.first_only)
            )
    print(f"\n{time.strftime('%Y-%m-%d')}, {machine()}\n")
    print(table(results))
    return results


if __name__ == "__main__":
    main()
