"""The sync benchmark's smoke run: bench/run.py end to end at 10,000 students.

It fails when the benchmark cannot run (a crash, a failed sync, a second run of the same
snapshot that changes something), never on a time: figures come from `make bench`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.run import FIGURES, main

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_benchmark_runs_at_10000_students(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    args = ["--sizes", "10000", "--backends", backend, "--out", str(tmp_path)]
    if backend == "postgresql":
        # The test server's database, so that the benchmark creates and drops its own beside it
        # (and skips or fails exactly as every PostgreSQL test does when there is none).
        args += ["--postgres", request.getfixturevalue("postgres_url")]
    (result,) = main(args)
    assert result.floor.seconds > 0
    assert set(result.figures) == set(FIGURES)
    assert {m.status for m in result.figures.values()} == {"applied", "previewed"}
