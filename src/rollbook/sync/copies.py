"""The copy of each organization's last applied snapshot, kept on disk beside the database.

The next sync of the organization compares its files with this copy line by line
(sync/quick.py) and reads only the lines that changed. The copy is a cache: the database
says which run applied last, and a copy that is missing, damaged or of another run is not
used (the sync reads the whole snapshot instead). A copy is written after its run commits,
into a folder of its own that is renamed into place when complete, so a process killed on
the way leaves no copy that looks whole.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from rollbook.sync.linediff import LineCount
from rollbook.sync.sources import SourceFiles

log = logging.getLogger("rollbook.sync")
LABEL = "label.json"
FORMAT = 1
_COPY_BUFFER = 1 << 20


def copies_root(database_url: str, setting: str | None) -> Path | None:
    """Where copies are kept: the setting (`off`: nowhere), else beside a SQLite database
    file (`rollbook.db` → `rollbook.db.snapshots`); PostgreSQL has no file to sit beside."""
    if setting is not None:
        return None if setting.strip().casefold() in ("", "off") else Path(setting)
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:"):
        return None
    return Path(url.database).with_name(Path(url.database).name + ".snapshots")


def copies_for(database_url: str, setting: str | None) -> SnapshotCopies | None:
    root = copies_root(database_url, setting)
    return SnapshotCopies(root) if root else None


@dataclass(frozen=True)
class Kept:
    """One organization's copy: the run that applied it and what it holds."""

    run_id: int
    folder: Path
    label: dict[str, Any]

    def lines(self, key: str) -> int | None:
        """The data lines of file `key` (past its header), counted while it was copied."""
        found = self.label.get("lines", {}).get(key)
        return int(found) if found is not None else None

    def file(self, key: str) -> Path | None:
        name = self.label.get("files", {}).get(key)
        return self.folder / name if name else None

    def whole(self) -> bool:
        """Whether every file is there at the size it was written at."""
        try:
            return all(
                (self.folder / name).stat().st_size == self.label["sizes"][key]
                for key, name in self.label["files"].items()
            )
        except (OSError, KeyError, TypeError):
            return False


@dataclass(frozen=True)
class SnapshotCopies:
    """The copies under one folder, one per organization."""

    root: Path

    def _org(self, org_id: int) -> Path:
        return self.root / f"org-{org_id}"

    def latest(self, org_id: int) -> Kept | None:
        """The organization's copy, if a whole one is there."""
        folder = self._org(org_id)
        try:
            candidates = sorted(p for p in folder.iterdir() if p.name.startswith("run-"))
        except OSError:
            return None
        for path in reversed(candidates):
            try:
                label = json.loads((path / LABEL).read_text())
                if label.get("format") != FORMAT:
                    continue
                return Kept(int(label["run_id"]), path, label)
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return None

    def keep(
        self,
        org_id: int,
        run_id: int,
        source: SourceFiles,
        files: dict[str, str],
        label: dict[str, Any],
    ) -> Kept | None:
        """Copy a run's files (key → stored name in `source`) as the organization's copy, in
        place of the one before; None, logged, if the disk refuses (the next run then reads
        its whole snapshot)."""
        folder = self._org(org_id)
        work = folder / f".writing-{run_id}-{os.getpid()}"
        final = folder / f"run-{run_id:012d}"
        try:
            # Children's data, as in the database: for the server's account only.
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.mkdir(mode=0o700, exist_ok=True)
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(mode=0o700)
            names, sizes, lines = {}, {}, {}
            for key, stored in files.items():
                names[key] = f"{key}.csv"
                counted = LineCount()
                with source.open(stored) as stream, (work / names[key]).open("wb") as out:
                    while chunk := stream.read(_COPY_BUFFER):
                        out.write(chunk)
                        counted.feed(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                    sizes[key], lines[key] = out.tell(), counted.lines
            text = json.dumps(
                {
                    **label,
                    "format": FORMAT,
                    "run_id": run_id,
                    "files": names,
                    "sizes": sizes,
                    "lines": lines,
                }
            )
            with (work / LABEL).open("w") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            shutil.rmtree(final, ignore_errors=True)
            work.rename(final)
        except Exception:  # a cache: never the run's failure
            log.warning("could not keep a copy of run %s's snapshot", run_id, exc_info=True)
            shutil.rmtree(work, ignore_errors=True)
            return None
        self.drop(org_id, keep=final)
        return Kept(run_id, final, json.loads((final / LABEL).read_text()))

    def drop(self, org_id: int, *, keep: Path | None = None) -> None:
        """Remove the organization's copies (all but `keep`), and half-written ones."""
        folder = self._org(org_id)
        try:
            entries = list(folder.iterdir())
        except OSError:
            return
        for path in entries:
            if path != keep:
                shutil.rmtree(path, ignore_errors=True)
