"""What a run's outcome depends on besides the roster, as one SHA-256: the snapshot's bytes,
the catalogue and the sync's own rules version.

Two runs with the same fingerprint, on a roster nobody changed by hand in between (schools
made by hand included: they are in the change log too), have the same outcome (R18:
applying a snapshot twice changes nothing the second time).
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

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
