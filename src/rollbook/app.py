"""create_app(settings): the API and the pages on one ASGI application."""

from __future__ import annotations

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
from rollbook.store.db import REQUEST_LOCK_TIMEOUT_MS, Database, is_sqlite, pool_capacity
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


class Admission:
    """At most `limit` requests inside the application at once; the others wait at the door,
    holding nothing. With the limit within the connection pool every request inside can have
    a connection, so a request holding one of the few request threads never waits for a
    connection held by a request waiting for a thread: that wait hung every request when the
    threads were first made fewer (docs/reliability.md, "Load")."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._inside: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._inside is None:
            self._inside = anyio.Semaphore(self.limit)
        async with self._inside:
            await self.app(scope, receive, send)


# Connections of the pool kept for what runs beside the requests (a sync in a thread, the
# worker's start-up clean-up).
RESERVED_CONNECTIONS = 4
# Requests running in threads at once on SQLite (config.Settings.request_threads). Reads
# never wait for a lock there, and every thread competes for the one interpreter with the
# thread of the request holding the write turn: on the 1,000,000-student district
# (bench.load --tools) edits' p95 was 1.5 s with 8 threads, 0.33 s with 4, 0.15 s with 2,
# reads alike; 4 leave room for a slow page (docs/benchmarks.md).
SQLITE_REQUEST_THREADS = 4


def create_app(config: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """The application for one database; the schema must be up to date (store.db.migrate)."""
    config = config or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker: SyncWorker = app.state.sync_worker
        if threads is not None:
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
    app.state.db = db or Database.connect(
        config.database_url,
        pool_size=config.pool_size,
        lock_timeout_ms=REQUEST_LOCK_TIMEOUT_MS,
        mmap_mib=config.sqlite_mmap_mib,
    )
    app.state.catalogue = load_catalogue(config.catalogue)
    app.state.sign_in_limiter = SignInLimiter(config.sign_in_attempts_per_minute)
    sqlite = is_sqlite(app.state.db.engine)
    app.state.write_gate = deps.WriteGate() if sqlite else None
    # None: the thread pool's own default (40) on PostgreSQL.
    threads = config.request_threads or (SQLITE_REQUEST_THREADS if sqlite else None)
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
    app.add_middleware(
        Admission, limit=max(1, pool_capacity(config.pool_size) - RESERVED_CONNECTIONS)
    )
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    return app
