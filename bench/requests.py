"""What one request of the rostering tools costs, in-process, without HTTP or other clients.

    python -m bench.requests                      # SQLite, 2,000 students, 200 of each
    python -m bench.requests --students 100000 --count 300
    python -m bench.requests --students 1000000 --reuse  # bench.load --reuse's database
    python -m bench.requests --profile "read a student" [--sort cumulative]  # and a cProfile
    python -m bench.requests --backend postgresql  # a kept PostgreSQL database (as --reuse)
    python -m bench.requests --instructions  # instructions per request, under valgrind

The application is called through its ASGI interface on this thread (httpx's ASGI
transport), with the routes' thread pool replaced by a direct call, so the time is the
request's own CPU: what the server spends per request before any queueing. The search
figure times `store.people.list_people` alone for each name prefix of the district and
one that matches nobody. The organization comes from bench.load (generated and synced into
a fresh SQLite file in a temporary folder; on PostgreSQL into the database bench.load
--reuse keeps for this size, made if absent).

Processor time varies from one run to the next on a shared machine (by a third and more on
this project's); `--instructions` counts instead what the interpreter executes for each kind
of request, under valgrind's callgrind (each kind in a child process, counted only from its
11th request to the last), the same from one run to the next within about 1%. Both include
the in-process client's own work (httpx): compare two versions, not the server alone. Needs
valgrind; uses the kept database (as --reuse).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi.dependencies.utils
import fastapi.routing
import httpx
import starlette.concurrency
from sqlalchemy import func, select

from bench import load
from rollbook.app import create_app, server_database
from rollbook.cli import settled
from rollbook.config import Settings
from rollbook.store import people as people_store
from rollbook.store.db import Database
from rollbook.store.models import Org, PersonSchool

HERE = Path(__file__).resolve().parent


async def _inline(func: Callable[..., object], *args: object, **kwargs: object) -> object:
    return func(*args, **kwargs)


def _no_thread_pool() -> None:
    for module in (fastapi.routing, fastapi.dependencies.utils, starlette.concurrency):
        module.run_in_threadpool = _inline  # type: ignore[attr-defined]


def search_times(db: Database, target: load.Target) -> list[tuple[str, int, float]]:
    """The store's page of 50 for each prefix (best of three), in the whole organization and
    within its largest school (as a teacher of it sees it; "-": no prefix, the list)."""
    found = []
    with db.session(write=False) as session:
        org = session.scalars(select(Org).where(Org.slug == target.slug)).one()
        largest = session.scalars(
            select(PersonSchool.school_id)
            .where(PersonSchool.org_id == org.id)
            .group_by(PersonSchool.school_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        # Three letters of last names; one or two letters that many first names and usernames
        # start with (a search typed as it is read); one that matches nobody.
        prefixes: list[str | None] = [*target.prefixes[:12], "a", "j", "s", "ma", "zq"]
        searches = [(q, None) for q in prefixes]
        searches += [(q, frozenset([largest])) for q in [None, *target.prefixes[:4], "a", "zq"]]
        for prefix, within in searches:
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                page = people_store.list_people(
                    session, org_id=org.id, kind="student", within=within, q=prefix,
                    school_id=None, origin=None, status="active", limit=50, after=None,
                )  # fmt: skip
                best = min(best, time.perf_counter() - started)
            shown = repr(prefix) if prefix is not None else "-"
            where = "" if within is None else " in a school"
            found.append((f"{shown}{where}", len(page.items), best))
    return found


Send = Callable[[str], Awaitable[httpx.Response]]


@asynccontextmanager
async def _sender(url: str, target: load.Target, *, frozen: bool = False) -> AsyncIterator[Send]:
    """Sends a request of a kind to the application, in this thread; `frozen`: what the
    process holds frozen first, as a server process's is (cli.settled)."""
    _no_thread_pool()
    app = create_app(Settings(database_url=url))  # the server's connections (server_database)
    if frozen:
        settled(app)
    rng = random.Random(1)
    token = target.tokens[0]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://bench",
        headers={"Authorization": f"Bearer {token}"},
        cookies={"rollbook_session": token},
    ) as client:

        def send(kind: str) -> Awaitable[httpx.Response]:
            method, address, arguments = load.request_of(
                kind, rng, "", target, f"Bench{rng.randrange(10**6)}"
            )
            return client.request(method, address, **arguments)

        yield send


async def request_times(
    url: str, target: load.Target, count: int, profile: str | None, sort: str = "tottime"
) -> dict[str, float]:
    async with _sender(url, target) as send:
        took = {}
        for kind in load.MIX:
            for _ in range(10):  # warm up, and check that the kind answers
                answer = await send(kind)
                if answer.status_code != 200:
                    raise RuntimeError(f"{kind}: {answer.status_code} {answer.text[:200]}")
            # The best of three rounds of processor time: the request's own cost, without
            # what other programs on a shared machine take from it.
            rounds = []
            for _ in range(3):
                started = time.process_time()
                for _ in range(count):
                    await send(kind)
                rounds.append((time.process_time() - started) / count)
            took[kind] = min(rounds)
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(count):
                await send(profile)
            profiler.disable()
            pstats.Stats(profiler).sort_stats(sort).print_stats(40)
    return took


CALLGRIND = [
    "valgrind",
    "--tool=callgrind",
    "--instr-atstart=no",
    "--callgrind-out-file=/dev/null",
]


def _callgrind(on: bool) -> None:
    """Count from here (or stop): valgrind's own control of this process."""
    subprocess.run(
        ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
        check=True,
        capture_output=True,
    )


async def counted(url: str, target: load.Target, kind: str, count: int) -> None:
    """`count` requests of `kind` after 10 uncounted ones, counted by callgrind, in a
    process frozen as a server's is."""
    async with _sender(url, target, frozen=True) as send:
        for number in range(10 + count):
            if number == 10:
                gc.collect()
                _callgrind(on=True)
            answer = await send(kind)
            if answer.status_code != 200:
                raise RuntimeError(f"{kind}: {answer.status_code} {answer.text[:200]}")
        _callgrind(on=False)


def instructions(args: argparse.Namespace) -> dict[str, float]:
    """Millions of instructions per request of each kind (a child under callgrind each)."""
    found = {}
    for kind in load.MIX:
        command = [
            *CALLGRIND,
            sys.executable,
            "-m",
            "bench.requests",
            f"--students={args.students}",
            f"--backend={args.backend}",
            f"--pg={args.pg}",
            f"--out={args.out}",
            f"--count={args.count}",
            f"--counted={kind}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        total = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or total is None:
            raise SystemExit(f"{kind}: valgrind failed:\n{done.stderr[-2000:]}")
        found[kind] = int(total.group(1)) / args.count / 1e6
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.requests", description=__doc__)
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--profile", choices=list(load.MIX), default=None)
    parser.add_argument("--sort", choices=["tottime", "cumulative"], default="tottime")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg", default=load.DEFAULT_PG, help="PostgreSQL server (--backend)")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="the database bench.load --reuse keeps in --out for this size (made if absent)",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="millions of instructions per request of each kind, under valgrind (callgrind)",
    )
    parser.add_argument("--counted", choices=list(load.MIX), help=argparse.SUPPRESS)
    args = parser.parse_args()
    day1, _ = load.generate(args.out, args.students, 1)
    with tempfile.TemporaryDirectory(prefix="rollbook-requests-") as work:
        url, kept = f"sqlite:///{Path(work) / 'rollbook.db'}", None
        kept_only = args.instructions or args.counted
        if args.reuse or args.backend == "postgresql" or kept_only:
            config = load.Config(
                backend=args.backend,
                students=args.students,
                sync="none",
                out=args.out,
                pg_base=args.pg,
            )
            url, kept = load.kept_database(config)
        target = load.prepare_kept(url, day1, 1, kept)
        if args.counted:
            asyncio.run(counted(url, target, args.counted, args.count))
            return
        backend = "PostgreSQL" if args.backend == "postgresql" else "SQLite"
        print(f"{backend}, {args.students:,} students; {load.machine()}")
        if args.instructions:
            print(f"{'request':<22}{'M instructions':>15}")
            for kind, millions in instructions(args).items():
                print(f"{kind:<22}{millions:>15.2f}")
            return
        print(f"{'request':<22}{'CPU ms':>9}")
        for kind, seconds in asyncio.run(
            request_times(url, target, args.count, args.profile, args.sort)
        ).items():
            print(f"{kind:<22}{seconds * 1000:>9.2f}")
        print(f"\n{'search (store)':<22}{'found':>6}{'ms':>8}")
        served = server_database(Settings(database_url=url))
        for prefix, found, seconds in search_times(served, target):
            print(f"{prefix:<22}{found:>6}{seconds * 1000:>8.1f}")


if __name__ == "__main__":
    main()
