"""Engine and session setup for SQLite and PostgreSQL, and bringing the schema up to date."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_MS = 30_000
# How long a request may wait for its turn to write before it answers 503 busy (api/deps.py).
WRITE_WAIT_SECONDS = SQLITE_BUSY_TIMEOUT_MS / 1000
# How long a request waits on PostgreSQL for a row a sync's transaction holds before it
# answers 503 busy: as long as one waits for SQLite's writer.
REQUEST_LOCK_TIMEOUT_MS = SQLITE_BUSY_TIMEOUT_MS
# SQLite's page cache of one connection that runs syncs (the default is 2 MiB): a sync
# inserts into the indexes of every table at random places, and a first sync of 100,000
# students took 37.5 s with the default, 34.3 s with 64 MiB and 33.5 s with 256 MiB
# (`rollbook sync`, one run each). Requests keep the default: a pool holds many connections.
SYNC_CACHE_MIB = 256
# A pooled PostgreSQL connection idle longer than this is asked whether it is still alive
# before it is lent (a server restarted, a firewall that drops idle connections); one in use
# moments ago is not: asking every time was one round trip more on each request.
IDLE_PING_SECONDS = 5.0
_BUSY_SQLSTATES = frozenset({"55P03", "40P01", "40001"})  # lock timeout, deadlock, serialization


def normalize_url(raw: str) -> URL:
    """`postgresql://…` (or `postgres://…`) means psycopg 3; SQLite URLs pass through."""
    url = make_url(raw)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def is_busy(error: BaseException) -> bool:
    """Whether a database error only says "not now": SQLite's write lock still taken after
    the busy timeout, no pooled connection free in time, or a PostgreSQL lock that timed out
    or deadlocked. Nothing was written; the same request may succeed a moment later."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    orig = error.orig
    if getattr(orig, "sqlstate", None) in _BUSY_SQLSTATES:
        return True
    return isinstance(error, OperationalError) and "locked" in str(orig)


def _sqlite_setup(engine: Engine, cache_mib: int | None, mmap_mib: int | None) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN (below) start transactions, not the driver's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if cache_mib:
            cursor.execute(f"PRAGMA cache_size=-{int(cache_mib) * 1024}")
        if mmap_mib:
            cursor.execute(f"PRAGMA mmap_size={int(mmap_mib) * 1024 * 1024}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # A writing transaction takes the write lock at once, so it never fails halfway
        # with SQLITE_BUSY after reading; readers never block (WAL).
        if connection.get_execution_options().get("rollbook_write", False):
            begin_writing(connection.connection.dbapi_connection)
        else:
            connection.exec_driver_sql("BEGIN")


# How long one try at SQLite's write lock waits inside SQLite (begin_writing).
BEGIN_TRY_MS = 2


def begin_writing(dbapi_connection: Any) -> None:
    """BEGIN IMMEDIATE, waiting up to the busy timeout for the writer before it.

    SQLite's own wait sleeps ever longer between its tries, up to 100 ms: a writer queued
    behind a sync's transaction started up to 100 ms after it committed, while the writers
    behind it waited too (bench/load.py). Here each try waits at most BEGIN_TRY_MS inside
    SQLite and the next follows at once, so the writer starts within a few milliseconds."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    dbapi_connection.execute(f"PRAGMA busy_timeout={BEGIN_TRY_MS}")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    raise OperationalError("BEGIN IMMEDIATE", None, error) from error
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def make_engine(
    raw_url: str,
    *,
    pool_size: int = 10,
    cache_mib: int | None = None,
    lock_timeout_ms: int | None = None,
    mmap_mib: int | None = None,
) -> Engine:
    """An engine for the configured database, with the settings rollbook relies on;
    `cache_mib` sizes SQLite's page cache per connection (None: SQLite's default);
    `mmap_mib` how much of a SQLite file is read through a memory map (None: none);
    `lock_timeout_ms` bounds how long a PostgreSQL statement waits for a row or table lock
    (None: for ever; SQLite's wait is its busy timeout)."""
    url = normalize_url(raw_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=pool_size,
            max_overflow=pool_capacity(pool_size) - pool_size,
        )
        _sqlite_setup(engine, cache_mib, mmap_mib)
        return engine
    if url.get_backend_name() != "postgresql":
        raise ValueError(
            f"unsupported database {url.get_backend_name()!r}: use SQLite or PostgreSQL"
        )
    connect_args = {}
    if lock_timeout_ms:
        # Beside any server options the address sets itself (`?options=-c …`).
        own = url.query.get("options")
        given = " ".join(own) if isinstance(own, tuple) else (own or "")
        connect_args["options"] = f"{given} -c lock_timeout={int(lock_timeout_ms)}".strip()
    engine = create_engine(
        url,
        connect_args=connect_args,
        pool_size=pool_size,
        max_overflow=pool_capacity(pool_size) - pool_size,
    )
    _ping_when_idle(engine, IDLE_PING_SECONDS)
    return engine


_RETURNED = "rollbook_returned_at"


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """SQLAlchemy's `pool_pre_ping`, only for a connection that sat in the pool longer than
    `idle_seconds`. A dead one is replaced before anyone uses it (the pool retries with a
    new connection); were the server to restart while connections are busy, the first
    statement to fail tells the pool to replace every connection it holds."""

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED)
        if returned is None or time.monotonic() - returned <= idle_seconds:
            return  # just made, or in use a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the driver's own error for a connection gone
            raise DisconnectionError(str(error)) from error
        if not alive:
            raise DisconnectionError("the connection did not answer")


def pool_capacity(pool_size: int) -> int:
    """How many connections an engine of `make_engine` opens at most."""
    return pool_size * 3


class Database:
    """One engine and the two kinds of sessions: reading, and writing (SQLite write lock)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
        self._write = sessionmaker(
            bind=engine.execution_options(rollbook_write=True),
            expire_on_commit=False,
            autoflush=False,
        )

    @classmethod
    def connect(
        cls,
        raw_url: str,
        *,
        pool_size: int = 10,
        cache_mib: int | None = None,
        lock_timeout_ms: int | None = None,
        mmap_mib: int | None = None,
    ) -> Database:
        return cls(
            make_engine(
                raw_url,
                pool_size=pool_size,
                cache_mib=cache_mib,
                lock_timeout_ms=lock_timeout_ms,
                mmap_mib=mmap_mib,
            )
        )

    def session(self, *, write: bool) -> Session:
        return (self._write if write else self._read)()

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A unit of work for a boundary (a CLI command, a job): commits when the block ends."""
        with self.session(write=True) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def migrate(self) -> None:
        migrate(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


_MIGRATIONS = resources.files("rollbook.store").joinpath("migrations")


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest migration's revision: each file of `migrations/versions` is named after its
    revision, four digits, each revising the one before (tests/integration/test_migrations.py
    checks this against Alembic's own reading of the scripts)."""
    names = (p.name for p in _MIGRATIONS.joinpath("versions").iterdir())
    return max(n[:4] for n in names if n[:4].isdigit() and n.endswith(".py"))


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database without the schema."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        found = connection.scalar(text("SELECT version_num FROM alembic_version"))
        return None if found is None else str(found)


def migrate(engine: Engine) -> None:
    """Bring the schema up to date (every command does this first). A database at the newest
    revision is left as it is without loading Alembic and reading every migration script
    (a third of a second of each command)."""
    if current_revision(engine) == head_revision():
        return
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
