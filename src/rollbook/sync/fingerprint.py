"""What a run's outcome depends on besides the roster, as one SHA-256: the snapshot's bytes,
the catalogue and the sync's own rules version.

Two runs with the same fingerprint, on a roster nobody changed by hand in between (schools
made by hand included: they are in the change log too), have the same outcome (R18:
applying a snapshot twice changes nothing the second time).

The same idea for one record: the fingerprint of a staged row (and, in OneRoster 1.2, of
its roles.csv rows), salted with what turns rows into values (the rules version, the
catalogue, the OneRoster version and which SIS id is which school). An entity stores the
fingerprint of the rows it was last synced from (`sis_print`); an equal one on an entity
nobody edited since is the same outcome again (sync/settle.py).
"""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

# Bump when what a sync does with the same input changes.
RULES_VERSION = "rollbook-sync-1"
CHUNK = 1024 * 1024


class TooLarge(ValueError):
    """The archive unpacks past the limit (the source stage says so with a proper message)."""


def _feed_zip(digest: hashlib._Hash, path: Path, limit: int) -> None:
    total = 0
    with zipfile.ZipFile(path) as archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if info.is_dir():
                continue
            digest.update(f"\0{info.filename}\0".encode())
            with archive.open(info) as handle:
                while chunk := handle.read(CHUNK):
                    total += len(chunk)
                    if total > limit:
                        raise TooLarge(path.name)
                    digest.update(chunk)


def _feed_folder(digest: hashlib._Hash, path: Path) -> None:
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"\0{file.relative_to(path).as_posix()}\0".encode())
        with file.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)


def snapshot_fingerprint(
    path: Path,
    *,
    catalogue_text: str,
    max_unpacked_bytes: int,
) -> str:
    """The fingerprint of a run of this snapshot against this organization."""
    digest = hashlib.sha256()
    digest.update(RULES_VERSION.encode())
    digest.update(catalogue_text.encode())
    if path.is_dir():
        _feed_folder(digest, path)
    else:
        _feed_zip(digest, path, max_unpacked_bytes)
    return digest.hexdigest()


class Fingerprinting:
    """A snapshot's fingerprint, worked out when it is asked for or on a thread of its own
    beside the run (`start`): reading the files and SHA-256 let go of the interpreter, so
    the thread takes the other core while the run's own thread waits on the database."""

    def __init__(self, compute: Callable[[], str | None]) -> None:
        self._compute = compute
        self._thread: threading.Thread | None = None
        self._value: str | None = None
        self._error: BaseException | None = None
        self._done = False

    def start(self) -> None:
        """Work it out on a thread from now on (nothing if begun or done already)."""
        if self._thread is None and not self._done:
            self._thread = threading.Thread(
                target=self._run, name="rollbook-fingerprint", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._compute()
        except BaseException as error:  # raised again by result(), in the run's thread
            self._error = error

    def result(self) -> str | None:
        """The fingerprint, waiting for the thread or working it out now."""
        if self._thread is not None:
            self._thread.join()
        elif not self._done:
            self._run()
        self._done = True
        if self._error is not None:
            raise self._error
        return self._value

    def wait(self) -> None:
        """Wait for a thread begun, if any, without asking for the value."""
        if self._thread is not None:
            self._thread.join()


def row_hash(values: tuple[Any, ...]) -> str:
    """The fingerprint of one staged row's values (32 hex digits). The values are text,
    numbers, booleans, None and lists of those, whose `repr` is exact and stable."""
    return hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()


def role_print(values: tuple[Any, ...]) -> int:
    """The fingerprint of one roles.csv row, a 40-bit number. A user's role rows are summed
    (in SQL, with their count): the same rows in any order give the same sum, and the role
    decision does not depend on their order. 40 bits keep a million rows' sum in 64 bits."""
    digest = hashlib.blake2b(repr(values).encode(), digest_size=5).digest()
    return int.from_bytes(digest, "big")


def row_salt(
    *, catalogue_text: str, version: str, schools: Mapping[str, int], district_refs: Iterable[str]
) -> str:
    """What turns a run's rows into values besides the rows: a change to any of it makes every
    stored `sis_print` differ, so each entity goes through the full comparison once."""
    digest = hashlib.sha256()
    for part in (RULES_VERSION, catalogue_text, version):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(json.dumps(sorted(schools.items())).encode())
    digest.update(json.dumps(sorted(district_refs)).encode())
    return digest.hexdigest()[:16]


def entity_print(salt: str, row: str | None, roles: tuple[int, int] | None) -> str | None:
    """An entity's `sis_print`: the salt, its row's hash and (1.2) the sum and count of its role
    rows. sync/settle.py builds the same text in SQL."""
    if row is None:
        return None
    if roles is None:
        return salt + row
    return f"{salt}{row}:{roles[0]}:{roles[1]}"
