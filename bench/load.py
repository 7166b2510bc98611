"""The load run of quality.md: "60 s of mixed reads and writes from 64 clients during a sync".

    python -m bench.load                              # SQLite, 10,000 students, 64 clients, 60 s
    python -m bench.load --backend postgresql         # the same on PostgreSQL
    python -m bench.load --students 2000 --seconds 20 --clients 16 --json out.json
    python -m bench.load --tools --students 100000    # the rostering tools' speed: no sync,
                                                      # 32 clients, judged by their p95 targets
    python -m bench.load --tools --students 1000000 --reuse  # keep the synced database in
                                                      # bench/out/ for the next such run

What it does, all on 127.0.0.1:

1. generates the district (`rollbook generate`'s code; day 1 and the next day, day 2; kept in
   bench/out/n<N>/), creates a database (a SQLite file, or a fresh PostgreSQL database), an
   organization, applies day 1, and makes a district administrator with one token per client;
2. starts `rollbook serve` in a child process on a free port;
3. runs `--clients` clients (asyncio, bench/wire.py, one connection and one token each) for
   `--warmup` seconds (5; not measured: the server has just started, and its first answers
   wait for the statements and templates it compiles once; their 5xx still count), then for
   `--seconds`, each picking requests from the mix below, while syncs run the whole time:
   day 2 uploaded through the API (`POST …/syncs`, executed by the server's sync worker), then
   day 1 again, and so on until the window closes (`--sync cli` runs `rollbook sync` in
   another process instead; `--sync none` runs no sync);
4. prints requests per second, p50/p95/p99/max latency per kind of request, during a sync
   and overall, the count of 5xx answers and transport errors, and each sync's outcome;
   quality.md's targets are no 5xx and p99 <= 500 ms.

The mix: list or search students (`q=` a name prefix, 50 a page), read one student, edit one
shared field of a student (`preferred_first_name`, PATCH), the web page of a class's
students (with a session cookie), and a class's students through the API. The load
generator shares the machine (2 cores) with the server, which is noted with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import func, select

from bench import wire
from bench.run import settle
from rollbook.cli import command_line_actor
from rollbook.domain.catalogue import load_catalogue
from rollbook.generate import LAST, District, write_district
from rollbook.services import auth, orgs, people
from rollbook.store.db import Database
from rollbook.store.models import Membership, Person
from rollbook.sync.copies import SnapshotCopies
from rollbook.sync.engine import Engine, create_run

HERE = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
# Kind of request and its share of the mix.
MIX = {
    "list/search students": 30,
    "read a student": 25,
    "edit a student": 15,
    "class page (web)": 15,
    "class's students": 15,
}
P99_TARGET = 0.5
# quality.md "Speed of the rostering tools": p95 per kind of request (seconds), and the
# throughput of the reads, measured with `--tools` (no sync, 32 clients).
P95_TOOLS = {
    "list/search students": 0.030,
    "read a student": 0.020,
    "edit a student": 0.030,
    "class page (web)": 0.050,
}
READS_PER_SECOND_TARGET = 1000
FINAL = {"applied", "previewed", "needs_approval", "rejected", "failed", "discarded"}


@dataclass
class Config:
    backend: str = "sqlite"
    students: int = 10_000
    clients: int = 64
    seconds: float = 60.0
    # Seconds the clients run before the window opens, not measured: a server just started
    # answers its first requests while it compiles its statements and templates.
    warmup: float = 5.0
    sync: str = "upload"  # upload | cli | none
    out: Path = HERE / "out"
    pg_base: str = DEFAULT_PG
    # An existing, migrated database to use instead of a fresh one (the smoke test's).
    database_url: str | None = None
    seed: int = 1
    keep: bool = False  # keep the working folder (the server's log) and say where
    tools: bool = False  # judge by the rostering tools' targets instead of the load's
    workers: int = 1  # server processes (`rollbook serve --workers`)
    # Keep the database that holds day 1 for the next run of the same size (no sync only):
    # a million students take minutes to sync.
    reuse: bool = False


@dataclass
class Sample:
    kind: str
    status: int  # 0: no answer (transport error or timeout)
    seconds: float
    during_sync: bool
    at: float = 0.0  # when it was sent (time.monotonic())


@dataclass
class SyncOutcome:
    snapshot: str
    status: str
    seconds: float
    message: str | None = None
    at: float = 0.0  # when it started (time.monotonic())


@dataclass
class Result:
    config: Config
    samples: list[Sample] = field(default_factory=list)
    syncs: list[SyncOutcome] = field(default_factory=list)
    window: float = 0.0
    warmup: list[Sample] = field(default_factory=list)  # answered before the window opened
    sync_busy: float = 0.0  # seconds of the window with a sync queued or running
    errors: list[str] = field(default_factory=list)  # first few 5xx / transport errors
    # Processor seconds spent during the window by the clients' thread and by the server's
    # processes (their request threads; not the children that run uploaded syncs): the
    # clients share the machine's cores with the server.
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    server_processes: int = 1
    refusals: Counter[str] = field(default_factory=Counter)  # "kind: status code" of 4xx

    @property
    def server_errors(self) -> int:
        """5xx answers, in the warm-up too."""
        return sum(1 for s in (*self.warmup, *self.samples) if s.status >= 500)

    @property
    def transport_errors(self) -> int:
        return sum(1 for s in (*self.warmup, *self.samples) if s.status == 0)

    def p99(self, kind: str | None = None) -> float:
        return _percentile([s.seconds for s in self.samples if kind in (None, s.kind)], 99)

    def p95(self, kind: str) -> float:
        return _percentile([s.seconds for s in self.samples if s.kind == kind], 95)

    def reads_per_second(self) -> float:
        reads = sum(1 for s in self.samples if s.kind != "edit a student" and s.status == 200)
        return reads / max(self.window, 1e-9)

    def met(self) -> dict[str, bool]:
        if self.config.tools:
            met = {
                f"{kind} p95 <= {target * 1000:.0f} ms": self.p95(kind) <= target
                for kind, target in P95_TOOLS.items()
            }
            met[f"reads >= {READS_PER_SECOND_TARGET:,}/s ({self.reads_per_second():.0f}/s)"] = (
                self.reads_per_second() >= READS_PER_SECOND_TARGET
            )
            met["no 5xx"] = self.server_errors == 0 and self.transport_errors == 0
            return met
        return {
            "no 5xx": self.server_errors == 0 and self.transport_errors == 0,
            "p99 <= 500 ms": all(self.p99(kind) <= P99_TARGET for kind in MIX),
        }

    def table(self) -> str:
        c = self.config
        lines = [
            f"rollbook load: {c.backend}, {c.students:,} students, {c.clients} clients, "
            f"{self.window:.0f} s after {c.warmup:.0f} s of warm-up, syncs by {c.sync}, "
            f"{c.workers} server "
            f"process{'es' if c.workers > 1 else ''}; {machine()}",
            f"{'request':<22}{'count':>8}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
            f"{'max ms':>8}{'p99 in sync':>12}{'5xx':>5}{'4xx':>5}{'none':>5}",
        ]
        for kind in [*MIX, None]:
            rows = [s for s in self.samples if kind in (None, s.kind)]
            if not rows:
                continue
            took = [s.seconds for s in rows]
            busy = [s.seconds for s in rows if s.during_sync]
            lines.append(
                f"{kind or 'all':<22}{len(rows):>8}{len(rows) / self.window:>8.1f}"
                f"{_ms(_percentile(took, 50)):>8}{_ms(_percentile(took, 95)):>8}"
                f"{_ms(_percentile(took, 99)):>8}{_ms(max(took)):>8}"
                f"{_ms(_percentile(busy, 99)) if busy else '-':>12}"
                f"{sum(s.status >= 500 for s in rows):>5}"
                f"{sum(400 <= s.status < 500 for s in rows):>5}"
                f"{sum(s.status == 0 for s in rows):>5}"
            )
        done = ", ".join(f"{s.snapshot} {s.status} {s.seconds:.1f}s" for s in self.syncs)
        window = max(self.window, 1e-9)
        lines.append(
            f"syncs: {done or 'none'}; a sync was queued or running "
            f"{100 * self.sync_busy / window:.0f}% of the window"
        )
        lines.append(
            f"processor: server {self.server_cpu:.1f} s ({100 * self.server_cpu / window:.0f}% "
            f"of a core, {self.server_processes} process{'es' if self.server_processes > 1 else ''}"
            f"), clients {self.client_cpu:.1f} s "
            f"({100 * self.client_cpu / window:.0f}% of a core)"
        )
        lines.append(
            "targets: "
            + "; ".join(f"{name}: {'met' if ok else 'NOT met'}" for name, ok in self.met().items())
        )
        if self.refusals:
            lines.append(
                "4xx: " + ", ".join(f"{what} x{n}" for what, n in self.refusals.most_common())
            )
        if self.warmup:
            took = [s.seconds for s in self.warmup]
            lines.append(
                f"warm-up (not in the figures above): {len(took)} requests, p50 "
                f"{_ms(_percentile(took, 50))} ms, max {_ms(max(took))} ms, "
                f"{sum(s.status >= 500 for s in self.warmup)} 5xx, "
                f"{sum(s.status == 0 for s in self.warmup)} without an answer"
            )
        lines += [f"  {e}" for e in self.errors[:5]]
        return "\n".join(lines)


def _code_of(answer: wire.Answer) -> str:
    try:
        return str(answer.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "?"


def _percentile(values: list[float], q: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


# Setting up ---------------------------------------------------------------------------------


def generate(out: Path, students: int, seed: int) -> tuple[Path, Path]:
    """Day 1 and day 2 of the district, written once and kept for later runs."""
    days = []
    for day in (1, 2):
        folder = out / f"n{students}" / (f"day{day}" if seed == 1 else f"seed{seed}-day{day}")
        if not (folder / "manifest.csv").exists():
            tmp = folder.with_suffix(".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            write_district(tmp, District(students=students, seed=seed, day=day))
            tmp.rename(folder)
        days.append(folder)
    return days[0], days[1]


def zipped(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return target


@dataclass
class Target:
    """The organization under load: its slug, tokens, and what the clients ask for."""

    slug: str
    tokens: list[str]
    students: list[int]
    classes: list[int]
    prefixes: list[str]


def prepare(
    url: str, day1: Path, clients: int, *, slug: str | None = None, copies: Path | None = None
) -> Target:
    """An organization holding day 1 (or `slug`, one that already does), and a district
    administrator with a token per client; day 1's copy kept in `copies` (sync/copies.py)."""
    db = Database.connect(url)
    db.migrate()
    try:
        if slug is None:
            slug = f"load-{uuid.uuid4().hex[:8]}"
            with db.writing() as session:
                org = orgs.create_org(
                    session, actor=None, slug=slug, name=f"Load {slug}", threshold_percent=None
                )
                run_id = create_run(
                    session, org=org, actor=command_line_actor(org), source=str(day1), dry_run=False
                ).id
            engine = Engine(
                db, load_catalogue(None), copies=SnapshotCopies(copies) if copies else None
            )
            run = engine.execute(run_id, day1)
            if run.status != "applied":
                raise RuntimeError(f"day 1 did not apply: {run.status} {run.message}")
            settle(url)
        with db.writing() as session:
            org = orgs.find(session, slug=slug)
            admin = people.create(
                session,
                actor=command_line_actor(org),
                org=org,
                kind="educator",
                data={
                    "username": f"load.admin.{uuid.uuid4().hex[:8]}",
                    "first_name": "Load",
                    "last_name": "Admin",
                    "role": "administrator",
                    "admin_scope": "district",
                    "school_ids": [],
                },
            ).person
            tokens = [
                auth.issue_token(session, "educator", admin.id, org.id, 6 * 3600).token
                for _ in range(clients)
            ]
            students = list(
                session.scalars(
                    select(Person.id)
                    .where(Person.org_id == org.id, Person.kind == "student")
                    .order_by(Person.id)
                    .limit(5000)
                )
            )
            biggest = session.execute(
                select(Membership.class_id)
                .where(Membership.org_id == org.id, Membership.role == "student")
                .group_by(Membership.class_id)
                .order_by(func.count().desc())
                .limit(200)
            )
            classes = [row[0] for row in biggest]
    finally:
        db.dispose()
    prefixes = sorted({name[:3] for name in LAST})
    return Target(slug, tokens, students, classes, prefixes)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rollbook_command() -> list[str]:
    script = Path(sys.executable).with_name("rollbook")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from rollbook.cli import main; main()"]


class Server:
    """`rollbook serve` in a child process; its output goes to a file."""

    def __init__(self, url: str, work: Path, workers: int = 1, copies: Path | None = None) -> None:
        self.port = free_port()
        self.workers = workers
        self.copies = copies
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = work / "server.log"
        env = {
            **os.environ,
            "ROLLBOOK_DATABASE_URL": url,
            "ROLLBOOK_UPLOAD_DIR": str(work / "uploads"),
            "ROLLBOOK_SNAPSHOT_COPIES": str(copies) if copies else "off",
        }
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [
                    *rollbook_command(),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(workers),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, slug: str, token: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped: {self.log.read_text()[-2000:]}")
            try:
                answer = httpx.get(
                    f"{self.base}/api/v1/orgs/{slug}/students",
                    params={"limit": 1},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=5,
                )
                if answer.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the server did not answer in time")

    def request_processes(self) -> list[int]:
        """The processes that answer requests: the server's own, or with --workers its
        children (each a server process; their own children run the uploaded syncs)."""
        if self.workers == 1:
            return [self.process.pid]
        return [
            pid
            for pid in children_of(self.process.pid)
            if b"resource_tracker" not in _command_line(pid)  # multiprocessing's helper
        ]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# The syncs ----------------------------------------------------------------------------------


class Syncs(threading.Thread):
    """Runs the next day, then day 1 again, and so on, until told to stop."""

    def __init__(
        self, how: str, server: Server, url: str, district: Target, days: list[Path]
    ) -> None:
        super().__init__(daemon=True)
        self.how = how
        self.server = server
        self.url = url
        self.district = district
        self.days = days  # the snapshots to alternate, next day first
        self.stop = threading.Event()
        self.running = threading.Event()
        self.outcomes: list[SyncOutcome] = []
        self.busy = 0.0
        self.failure: str | None = None

    def run(self) -> None:
        try:
            turn = 0
            while not self.stop.is_set():
                snapshot = self.days[turn % len(self.days)]
                turn += 1
                started = time.monotonic()
                self.running.set()
                try:
                    status, message = (
                        self._upload(snapshot) if self.how == "upload" else self._cli(snapshot)
                    )
                finally:
                    self.running.clear()
                took = time.monotonic() - started
                self.busy += took
                self.outcomes.append(SyncOutcome(snapshot.stem, status, took, message, started))
        except Exception as error:  # reported with the figures, never lost
            self.failure = repr(error)

    def _upload(self, snapshot: Path) -> tuple[str, str | None]:
        api = f"{self.server.base}/api/v1/orgs/{self.district.slug}/syncs"
        headers = {"Authorization": f"Bearer {self.district.tokens[0]}"}
        with httpx.Client(timeout=600, headers=headers) as http:
            with snapshot.open("rb") as handle:
                answer = http.post(api, files={"file": (snapshot.name, handle, "application/zip")})
            if answer.status_code != 202:
                return f"upload answered {answer.status_code}", answer.text[:300]
            run = answer.json()
            while run["status"] not in FINAL:
                time.sleep(0.2)
                polled = http.get(f"{api}/{run['id']}")
                if polled.status_code == 200:
                    run = polled.json()
            return str(run["status"]), run.get("message")

    def _cli(self, snapshot: Path) -> tuple[str, str | None]:
        env = {
            **os.environ,
            "ROLLBOOK_DATABASE_URL": self.url,
            "ROLLBOOK_SNAPSHOT_COPIES": str(self.server.copies) if self.server.copies else "off",
        }
        child = subprocess.run(
            [*rollbook_command(), "sync", self.district.slug, str(snapshot), "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            run = json.loads(child.stdout)
        except ValueError:
            return f"exit {child.returncode}", child.stderr[-300:]
        return str(run["status"]), run.get("message")


# The clients --------------------------------------------------------------------------------


def request_of(
    kind: str, rng: random.Random, base: str, district: Target, name: str
) -> tuple[str, str, dict[str, Any]]:
    """One request of the mix: method, address and httpx arguments (an edit writes `name`)."""
    api = f"{base}/api/v1/orgs/{district.slug}"
    student = rng.choice(district.students)
    klass = rng.choice(district.classes)
    requests: dict[str, tuple[str, str, dict[str, Any]]] = {
        "list/search students": (
            "GET",
            f"{api}/students",
            {"params": {"q": rng.choice(district.prefixes), "limit": 50}},
        ),
        "read a student": ("GET", f"{api}/students/{student}", {}),
        "edit a student": (
            "PATCH",
            f"{api}/students/{student}",
            {"json": {"preferred_first_name": name}},
        ),
        "class page (web)": (
            "GET",
            f"{base}/orgs/{district.slug}/classes/{klass}/students",
            {},
        ),
        "class's students": (
            "GET",
            f"{api}/classes/{klass}/students",
            {"params": {"limit": 50}},
        ),
    }
    return requests[kind]


async def _client(
    number: int,
    base: str,
    district: Target,
    until: float,
    samples: list[Sample],
    errors: list[str],
    refusals: Counter[str],
    syncing: threading.Event,
) -> None:
    rng = random.Random(number)
    token = district.tokens[number % len(district.tokens)]
    kinds, weights = list(MIX), list(MIX.values())
    connection = wire.Connection(
        base, {"Authorization": f"Bearer {token}", "Cookie": f"rollbook_session={token}"}
    )
    count = 0
    try:
        while time.monotonic() < until:
            count += 1
            kind = rng.choices(kinds, weights)[0]
            method, address, arguments = request_of(
                kind, rng, base, district, f"Load{number}x{count}"
            )
            raw = connection.encode(
                method, address, params=arguments.get("params"), json_body=arguments.get("json")
            )
            during = syncing.is_set()
            at = time.monotonic()
            started = time.perf_counter()
            try:
                answer = await connection.request(raw)
                status = answer.status
                if status >= 500:
                    errors.append(f"{kind}: {status} {answer.text[:200]}")
                elif status >= 400:
                    refusals[f"{kind}: {status} {_code_of(answer)}"] += 1
            except wire.WireError as error:
                status = 0
                errors.append(f"{kind}: {error}")
            samples.append(Sample(kind, status, time.perf_counter() - started, during, at))
    finally:
        await connection.close()


def _command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _stat_fields(stat: Path) -> list[str] | None:
    """The fields of a /proc/PID/stat after the command name (state, parent, …), or None
    when the process is gone or there is no /proc."""
    try:
        return stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from /proc (none where there is no /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat_fields(stat)
        if fields is not None and int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def process_cpu(pid: int) -> float:
    """Processor seconds (user and system) a process has used so far, from /proc (0 where
    there is no /proc)."""
    fields = _stat_fields(Path(f"/proc/{pid}/stat"))
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(
    config: Config, base: str, district: Target, syncing: threading.Event, server: list[int]
) -> Result:
    result = Result(config, server_processes=len(server))
    opened = time.monotonic() + config.warmup
    until = opened + config.seconds
    before: dict[str, float] = {}

    async def open_window() -> None:
        await asyncio.sleep(max(0.0, opened - time.monotonic()))
        before["server"] = sum(process_cpu(pid) for pid in server)
        before["client"] = time.thread_time()

    samples: list[Sample] = []
    await asyncio.gather(
        open_window(),
        *(
            _client(n, base, district, until, samples, result.errors, result.refusals, syncing)
            for n in range(config.clients)
        ),
    )
    result.window = time.monotonic() - opened
    result.client_cpu = time.thread_time() - before["client"]
    result.server_cpu = sum(process_cpu(pid) for pid in server) - before["server"]
    result.samples = [s for s in samples if s.at >= opened]
    result.warmup = [s for s in samples if s.at < opened]
    return result


# One run ------------------------------------------------------------------------------------


def _in_own_loop(coro: Any) -> Any:
    """Run `coro` on an event loop of its own thread: the caller's thread may have one
    running already (a test process in which Playwright's synchronous API ran)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(coro)
        except BaseException as error:  # handed to the caller below
            box["error"] = error

    thread = threading.Thread(target=target, name="load-clients")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def kept_database(config: Config) -> tuple[str, Path]:
    """The database kept for runs of this size and seed, and the file naming its
    organization (written once day 1 is applied; without it the database starts afresh)."""
    if config.sync != "none":
        raise SystemExit("--reuse keeps a database for runs without a sync (--tools)")
    folder = config.out / f"n{config.students}"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"kept-{config.backend}-seed{config.seed}"
    slug_file = folder / f"{name}.slug"
    if config.backend == "sqlite":
        path = folder / f"{name}.db"
        if not path.exists():
            slug_file.unlink(missing_ok=True)
        if not slug_file.exists():
            for stale in folder.glob(f"{name}.db*"):
                stale.unlink()
        return f"sqlite:///{path}", slug_file
    database = f"rollbook_bench_n{config.students}_seed{config.seed}"
    with psycopg.connect(config.pg_base, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if exists and not slug_file.exists():
            conn.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
            exists = None
        if not exists:
            slug_file.unlink(missing_ok=True)
            conn.execute(f'CREATE DATABASE "{database}"')
    return config.pg_base.rsplit("/", 1)[0] + f"/{database}", slug_file


def prepare_kept(
    url: str, day1: Path, clients: int, kept: Path | None, copies: Path | None = None
) -> Target:
    """`prepare`, on the organization `kept` names if it names one (kept_database), else on
    a new one, which `kept` then names."""
    slug = kept.read_text().strip() if kept is not None and kept.exists() else None
    district = prepare(url, day1, clients, slug=slug, copies=copies)
    if kept is not None and slug is None:
        kept.write_text(district.slug)
    return district


def run(config: Config) -> Result:
    """Set up, serve, load, and tear down; the figures."""
    day1, day2 = generate(config.out, config.students, config.seed)
    work = Path(tempfile.mkdtemp(prefix="rollbook-load-"))
    pg_name = None
    try:
        url = config.database_url
        kept: Path | None = None
        if url is None and config.reuse:
            url, kept = kept_database(config)
        elif url is None and config.backend == "sqlite":
            url = f"sqlite:///{work / 'rollbook.db'}"
        elif url is None:
            pg_name = f"rollbook_load_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(config.pg_base, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{pg_name}"')
            url = config.pg_base.rsplit("/", 1)[0] + f"/{pg_name}"
        # The syncs read each snapshot by its changes where they may (sync/quick.py), as a
        # server beside its SQLite file does without a setting; a kept database keeps its copy.
        copies = kept.with_suffix(".snapshots") if kept is not None else work / "copies"
        district = prepare_kept(url, day1, config.clients, kept, copies)
        days = [day2, day1]
        if config.sync == "upload":
            days = [zipped(day2, work / "day2.zip"), zipped(day1, work / "day1.zip")]
        server = Server(url, work, config.workers, copies)
        try:
            server.wait_ready(district.slug, district.tokens[0])
            syncs = Syncs(config.sync, server, url, district, days)
            if config.sync != "none":
                syncs.start()
                time.sleep(0.5)  # the first sync is under way when the clients begin
            result = _in_own_loop(
                _load(config, server.base, district, syncs.running, server.request_processes())
            )
            syncs.stop.set()
            if config.sync != "none":
                syncs.join(timeout=1800)
            result.syncs = syncs.outcomes
            result.sync_busy = min(syncs.busy, result.window)
            if syncs.failure:
                result.errors.append(f"the sync loop failed: {syncs.failure}")
        finally:
            server.stop()
        return result
    finally:
        if pg_name is not None:
            with psycopg.connect(config.pg_base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        if config.keep:
            print(f"kept {work} (server.log: the server's output)")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--warmup",
        type=float,
        default=5.0,
        help="seconds of load before the measured window (its 5xx still count)",
    )
    parser.add_argument("--sync", choices=["upload", "cli", "none"], default="upload")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--pg", default=os.environ.get("ROLLBOOK_BENCH_POSTGRES_URL", DEFAULT_PG))
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the server's log")
    parser.add_argument(
        "--timeline",
        type=Path,
        help="write every request (sent at, kind, status, seconds) and sync to this JSON file",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the synced database in --out for the next run of this size (no sync only)",
    )
    parser.add_argument(
        "--tools",
        action="store_true",
        help="the rostering tools' figures: no sync, 32 clients, judged by their p95 targets",
    )
    args = parser.parse_args(argv)
    if args.tools:
        args.sync = "none"
        if "--clients" not in (argv if argv is not None else sys.argv):
            args.clients = 32
    config = Config(
        backend=args.backend,
        students=args.students,
        clients=args.clients,
        seconds=args.seconds,
        warmup=args.warmup,
        sync=args.sync,
        out=args.out,
        pg_base=args.pg,
        keep=args.keep,
        tools=args.tools,
        workers=args.workers,
        reuse=args.reuse,
    )
    result = run(config)
    print(result.table())
    if args.json:
        summary = {
            "config": {k: str(v) for k, v in asdict(config).items()},
            "window": result.window,
            "syncs": [asdict(s) for s in result.syncs],
            "server_errors": result.server_errors,
            "transport_errors": result.transport_errors,
            "p95": {kind: result.p95(kind) for kind in MIX},
            "p99": {kind: result.p99(kind) for kind in MIX},
            "reads_per_second": result.reads_per_second(),
            "met": result.met(),
        }
        args.json.write_text(json.dumps(summary, indent=2))
    if args.timeline:
        args.timeline.write_text(json.dumps(timeline(result)))
    return result


def timeline(result: Result) -> dict[str, Any]:
    """Every request (the warm-up's too) and sync of a run, in seconds from the first
    request: where the slow answers fell, and beside which sync."""
    every = [*result.warmup, *result.samples]
    start = min((s.at for s in every), default=0.0)
    return {
        "window_opens": round(min((s.at for s in result.samples), default=start) - start, 3),
        "requests": [
            [round(s.at - start, 4), s.kind, s.status, round(s.seconds, 4)] for s in every
        ],
        "syncs": [
            [round(o.at - start, 3), o.snapshot, o.status, round(o.seconds, 3)]
            for o in result.syncs
        ],
    }


if __name__ == "__main__":
    main()
