"""create_app(settings): the API and the pages on one ASGI application."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rollbook import __version__, web
from rollbook.api import auth, classes, deps, errors, orgs, people, products, settings, syncs
from rollbook.config import Settings
from rollbook.domain.catalogue import load_catalogue
from rollbook.services.auth import SignInLimiter
from rollbook.store.db import (
    REQUEST_LOCK_TIMEOUT_MS,
    WRITE_WAIT_SECONDS,
    Database,
    is_sqlite,
    pool_capacity,
)
from rollbook.sync.copies import copies_for
from rollbook.sync.engine import Engine
from rollbook.sync.worker import SyncWorker

API = "/api/v1"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeaders:
    """Adds the security headers an answer does not set itself. Plain ASGI: Starlette's
    `@app.middleware("http")` ran every request through a task group and a stream of its own,
    a tenth of the server's time under load (bench/load.py)."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str]) -> None:
        self.app = app
        self.headers = dict(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


# The share of the door's places that short writes may take ahead of the reads (Admission):
# with 2 places (on SQLite one holding the write turn, the other next) writes became the
# slowest requests by far (edits p50 1.5 s, reads 35 ms: bench.load), their lane narrower
# than the turn.
WRITES_FIRST_SHARE = 0.5
# A write's body beyond this is not a short write (an upload): it waits with the reads.
SHORT_WRITE_BYTES = 64 * 1024
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def short_write(scope: Scope) -> bool:
    """A request that writes with a short body: an edit, a form, a sign-in; not an upload."""
    if scope["method"] in _SAFE_METHODS:
        return False
    length = kind = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = value
        elif name == b"content-type":
            kind = value
    if kind is not None and kind.lower().startswith(b"multipart/"):
        return False
    return length is None or (length.isdigit() and int(length) <= SHORT_WRITE_BYTES)


class Admission:
    """At most `limit` requests inside the application at once; the others wait at the door,
    holding nothing. With the limit within the connection pool every request inside can have
    a connection, so a request holding one of the few request threads never waits for a
    connection held by a request waiting for a thread: that wait hung every request when the
    threads were first made fewer (docs/reliability.md, "Load").

    With `writes_first`, short writes (`short_write`) go in ahead of the waiting reads while
    fewer than `writes_first` of them are inside. A write's own work is a few milliseconds (on
    SQLite in the one writer's turn, api.deps.WriteGate); behind every waiting read it also
    waited as long as a read takes, and then for the turn (or, on PostgreSQL, the rows) a
    sync's transaction held, and edits were the slowest requests: p99 0.56-0.86 s where
    reading a student's was 0.35-0.50 s (SQLite), 0.61-0.91 s against 0.50-0.68 s
    (PostgreSQL), bench.load with syncs back to back. The share keeps writes waiting for a
    long transaction from filling the door: the reads go on beside them. A write that waits
    `wait` seconds at the door goes in as a read would; on SQLite its turn is then refused at
    once (503 busy): its time to wait for the turn counts from its arrival (WRITE_DEADLINE)."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        *,
        writes_first: int = 0,
        wait: float = WRITE_WAIT_SECONDS,
    ) -> None:
        self.app = app
        self.writes_first = writes_first
        self.wait = wait
        self._free = limit
        self._writes_inside = 0
        self._reads: deque[anyio.Event] = deque()
        self._writes: deque[anyio.Event] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        write = False
        if self.writes_first and short_write(scope):
            deadline = anyio.current_time() + self.wait
            scope.setdefault("state", {})[deps.WRITE_DEADLINE] = deadline
            write = await self._enter(self._writes, deadline)
        if not write:
            await self._enter(self._reads, None)
        try:
            await self.app(scope, receive, send)
        finally:
            self._leave(write)

    async def _enter(self, queue: deque[anyio.Event], deadline: float | None) -> bool:
        """Wait in `queue` for a place inside; False if `deadline` passed first."""
        let_in = anyio.Event()
        queue.append(let_in)
        self._let_in()
        try:
            with anyio.CancelScope(deadline=math.inf if deadline is None else deadline):
                await let_in.wait()
        except BaseException:  # the client went away: its place, if given, goes to the next
            if let_in.is_set():
                self._leave(queue is self._writes)
            else:
                queue.remove(let_in)
            raise
        if not let_in.is_set():
            queue.remove(let_in)
        return let_in.is_set()

    def _leave(self, write: bool) -> None:
        self._free += 1
        if write:
            self._writes_inside -= 1
        self._let_in()

    def _let_in(self) -> None:
        while self._free:
            if self._writes and self._writes_inside < self.writes_first:
                self._writes_inside += 1
                let_in = self._writes.popleft()
            elif self._reads:
                let_in = self._reads.popleft()
            else:
                return
            self._free -= 1
            let_in.set()


# Connections of the pool kept for what runs beside the requests (a sync in a thread, the
# worker's start-up clean-up).
RESERVED_CONNECTIONS = 4
# Requests running in threads at once on SQLite (config.Settings.request_threads). Reads
# never wait for a lock there, and every thread competes for the one interpreter with the
# thread of the request holding the write turn: on the 1,000,000-student district
# (bench.load --tools) edits' p95 was 1.5 s with 8 threads, 0.33 s with 4, 0.15 s with 2,
# reads alike; 4 leave room for a slow page (docs/benchmarks.md).
SQLITE_REQUEST_THREADS = 4
# Reading requests running in threads at once on PostgreSQL. With the thread pool's default of
# 40 (as many as the door lets in) the reads competed for the interpreter with each other and
# the slowest kind's p99 was 1.74-1.80 times the mean wait under bench.load; with 8,
# 1.39-1.58. Writes run in threads of their own there (deps.write_turn): an edit waiting for
# a row a sync's transaction holds never holds a thread the reads need.
POSTGRES_REQUEST_THREADS = 8


def server_database(config: Settings) -> Database:
    """The database as a server process holds it: the configured pool, a bounded wait for
    PostgreSQL's row locks, and SQLite's file read through the shared memory map
    (ROLLBOOK_SQLITE_MMAP_MIB). `rollbook serve` and `create_app` both open it here."""
    return Database.connect(
        config.database_url,
        pool_size=config.pool_size,
        lock_timeout_ms=REQUEST_LOCK_TIMEOUT_MS,
        mmap_mib=config.sqlite_mmap_mib,
    )


def create_app(config: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """The application for one database; the schema must be up to date (store.db.migrate)."""
    config = config or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker: SyncWorker = app.state.sync_worker
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        worker.start()
        yield
        worker.shutdown()

    app = FastAPI(
        lifespan=lifespan,
        title="rollbook",
        version=__version__,
        description="A school district's roster: the SIS sync and hand edits, living together.",
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
    )
    app.state.settings = config
    app.state.db = db or server_database(config)
    app.state.catalogue = load_catalogue(config.catalogue)
    app.state.sign_in_limiter = SignInLimiter(config.sign_in_attempts_per_minute)
    sqlite = is_sqlite(app.state.db.engine)
    app.state.write_gate = deps.WriteGate() if sqlite else None
    threads = config.request_threads or (
        SQLITE_REQUEST_THREADS if sqlite else POSTGRES_REQUEST_THREADS
    )
    admitted = max(1, pool_capacity(config.pool_size) - RESERVED_CONNECTIONS)
    writes_first = int(admitted * WRITES_FIRST_SHARE)
    # PostgreSQL: the writes' own threads, one for each write the door lets in first.
    app.state.write_threads = None if sqlite else anyio.CapacityLimiter(max(1, writes_first))
    engine = Engine(
        app.state.db,
        app.state.catalogue,
        max_unpacked_bytes=config.max_unpacked_bytes,
        copies=copies_for(config.database_url, config.snapshot_copies),
    )
    app.state.sync_worker = SyncWorker(
        engine, Path(config.upload_dir), catalogue=config.catalogue, process=config.sync_process
    )
    errors.install(app, security_headers=SECURITY_HEADERS)
    for router in (
        auth.router,
        orgs.router,
        products.router,
        people.students,
        people.educators,
        settings.router,
        classes.router,
        syncs.router,
    ):
        app.include_router(router, prefix=API, dependencies=[Depends(deps.refuse_nul)])

    app.add_middleware(SecurityHeaders, headers=SECURITY_HEADERS)
    app.add_middleware(Admission, limit=admitted, writes_first=writes_first)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    return app
