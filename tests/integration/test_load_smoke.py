"""A short version of `make load` (bench/load.py) in the default run: `rollbook serve` on a
small district, 8 clients for 5 s of the read/write mix while syncs run through the API.
No 5xx and no dropped connection; nothing is asserted about time (this machine is shared)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bench import load
from rollbook.store.db import Database

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("workers", [1, 2])
def test_mixed_load_during_syncs_answers_no_5xx(
    backend: str, db: Database, tmp_path: Path, workers: int
) -> None:
    """With one server process and with two (`rollbook serve --workers 2`)."""
    config = load.Config(
        workers=workers,
        backend=make_url(backend).get_backend_name(),
        students=300,
        clients=8,
        seconds=4,
        warmup=1,
        out=tmp_path,
        database_url=backend,
    )
    result = load.run(config)
    print("\n" + result.table())
    assert result.server_errors == 0, result.errors
    assert result.transport_errors == 0, result.errors
    answered = {s.kind for s in result.samples if 200 <= s.status < 300}
    assert answered == set(load.MIX)
    assert result.syncs and all(s.status == "applied" for s in result.syncs), result.syncs
    assert result.server_processes == workers
