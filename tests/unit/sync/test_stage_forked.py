"""Staging with the last files read on the other core writes exactly what staging in place
writes, batch by batch and issue by issue in file order, also when the child dies (R22: no
row and no issue lost; sync/stage.py `_stage_forked`)."""

from __future__ import annotations

import csv
import io
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from sync_kit import open_folder

from rollbook.generate import District, write_district
from rollbook.sync import stage
from rollbook.sync.parse import Snapshot

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="this system has no fork")


def _broken_line(path: Path, blank: str) -> None:
    """Append a copy of the file's first row with the column `blank` emptied."""
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        row = dict(next(reader))
        columns = reader.fieldnames
    assert columns is not None
    row[blank] = ""
    row["sourcedId"] = row.get("sourcedId", "") + "-broken"
    out = io.StringIO()
    csv.DictWriter(out, columns, lineterminator="\n").writerow(row)
    with path.open("a", newline="") as handle:
        handle.write(out.getvalue())


@pytest.fixture
def snapshot(tmp_path: Path) -> Snapshot:
    folder = tmp_path / "district"
    write_district(folder, District(students=150, seed=5, day=1))
    _broken_line(folder / "users.csv", "username")
    _broken_line(folder / "enrollments.csv", "classSourcedId")
    _broken_line(folder / "classResources.csv", "resourceSourcedId")
    return open_folder(folder)


def _writes(snapshot: Snapshot, staging: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.setattr(stage, "BATCH", 97)  # many batches, the last of each file short
    written: list[Any] = []

    def write(table: Any, batch: list[dict[str, Any]]) -> None:
        written.append((table.name, [dict(row) for row in batch]))

    writer = stage._Writer(write, run_id=7, org_id=3, progress=None)
    staged = staging(writer, snapshot)
    written.append(("counted", staged.rows, staged.errors, staged.warnings))
    return written


def test_the_forked_tail_writes_what_staging_in_place_writes(
    snapshot: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_place = _writes(snapshot, stage._stage, monkeypatch)
    forked = _writes(snapshot, stage._stage_forked, monkeypatch)
    assert forked == in_place
    tables = [entry[0] for entry in in_place]
    assert tables.index("stage_enrollments") > tables.index("stage_classes")
    issues = [row for name, *rest in in_place if name == "sync_issues" for row in rest[0]]
    # The three broken lines, in the order of their files.
    assert [i["file"] for i in issues if i["severity"] == "error"] == [
        "users.csv",
        "enrollments.csv",
        "classResources.csv",
    ]
    assert in_place[-1][1]["enrollments"] > 150


def test_a_child_that_dies_is_replaced_by_staging_the_tail_here(
    snapshot: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_place = _writes(snapshot, stage._stage, monkeypatch)
    parent, spool = os.getpid(), stage._spool_tail

    def dies_in_the_child(*args: Any) -> None:
        if os.getpid() != parent:
            snapshot_, run_id, out = args
            spool(snapshot_, run_id, out)  # a part written, then the child dies
            os.kill(os.getpid(), signal.SIGKILL)
        spool(*args)

    monkeypatch.setattr(stage, "_spool_tail", dies_in_the_child)
    assert _writes(snapshot, stage._stage_forked, monkeypatch) == in_place
