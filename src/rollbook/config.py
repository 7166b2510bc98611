"""Settings, read from the environment (prefix ROLLBOOK_). The database URL picks the backend."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLLBOOK_", extra="ignore")

    # SQLite file in the working folder by default; `postgresql://…` for PostgreSQL.
    database_url: str = "sqlite:///rollbook.db"
    # A product catalogue file in place of the bundled one.
    catalogue: str | None = None
    # How long a token from POST /api/v1/auth/token stays valid.
    token_ttl_seconds: int = 8 * 3600
    # Web sessions.
    session_ttl_seconds: int = 12 * 3600
    # Largest sync upload accepted, and largest total a sync archive may unpack to.
    max_upload_bytes: int = 512 * 1024 * 1024
    max_unpacked_bytes: int = 4 * 1024 * 1024 * 1024
    # Where uploaded snapshots wait for their run (deleted once it has read them).
    upload_dir: str = str(Path(tempfile.gettempdir()) / "rollbook-uploads")
    # Sign-in attempts allowed per account and address within a minute.
    sign_in_attempts_per_minute: int = 10
    # Uploaded syncs run in a child process at a lower CPU priority (false: a thread).
    sync_process: bool = True
    # Connection pool: `pool_size` kept open, twice as many more when busy.
    pool_size: int = 10
    # Requests running in threads at once; none: 4 on SQLite, 8 on PostgreSQL. Python runs
    # one thread at a time: with 40 a request holding SQLite's write turn got a fortieth of the
    # interpreter and edits queued behind it (bench/load.py). On PostgreSQL these are the
    # reads' threads: writes run in threads of their own, where an edit may wait for a row a
    # sync's transaction holds (app.POSTGRES_REQUEST_THREADS).
    request_threads: int | None = None
    # SQLite: how much of the database file the server's connections read through a memory
    # map (shared by every connection through the system's file cache) instead of copying
    # each page into their own 2 MiB caches; 0 turns it off. SQLite maps 2,047 MiB at most.
    sqlite_mmap_mib: int = Field(default=2047, ge=0)
    # Where each organization's last applied snapshot is copied, so that its next sync reads
    # only the lines that changed (docs/architecture.md, "Reading a snapshot by its changes");
    # none: beside a SQLite database file (`rollbook.db.snapshots`), nowhere for PostgreSQL;
    # `off`: nowhere.
    snapshot_copies: str | None = None
    # Server processes of `rollbook serve` (its --workers): one runs Python on one core at a
    # time, so a machine with more cores serves more with more (README, "Serving on several cores").
    workers: int = Field(default=1, ge=1)


def setting_problems(error: ValidationError) -> list[str]:
    """Each problem of the environment's settings, named by its variable."""
    return [
        f"ROLLBOOK_{str(problem['loc'][0]).upper()}: {problem['msg']}" for problem in error.errors()
    ]
