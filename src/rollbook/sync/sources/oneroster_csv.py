"""OneRoster CSV snapshots from a folder or a zip archive, read safely and as streams.

An archive is untrusted input: entry names that climb out of the archive reject it whole,
and it may unpack to no more than `max_unpacked_bytes`, counted on the bytes actually read
as well as on what its headers declare.
"""

from __future__ import annotations

import io
import lzma
import os
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Any

from rollbook.domain.catalogue import Catalogue
from rollbook.sync.parse import Snapshot, load_snapshot
from rollbook.sync.records import Issue, SnapshotRejected, locate, rejection
from rollbook.sync.sources import SourceFiles

_BUFFER = 1 << 16
_NESTED = (".zip", ".gz", ".tgz", ".tar", ".7z", ".rar", ".bz2", ".xz", ".jar")
_DRIVE = re.compile(r"^[A-Za-z]:")
_JUNK = ("__macosx",)  # folders that archiving tools add beside the real files
_ZIP_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,  # zipfile's word for an encrypted entry
)


def open_snapshot(
    path: Path, *, max_unpacked_bytes: int, catalogue: Catalogue | None = None
) -> Snapshot:
    """Open a OneRoster CSV snapshot (folder or .zip); SnapshotRejected if it is unusable."""
    try:
        is_dir, is_file = path.is_dir(), path.is_file()
    except OSError as error:
        raise _rejected("unreadable_archive", f"cannot be opened ({error})", path.name) from None
    if is_dir:
        return load_snapshot(FolderFiles(path), catalogue=catalogue)
    if is_file:
        return load_snapshot(ZipFiles(path, max_unpacked_bytes), catalogue=catalogue)
    raise _rejected("unreadable_archive", "does not exist", path.name)


class FolderFiles(SourceFiles):
    """The files of a snapshot folder (the operator's own disk: no size limit)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        try:
            names = [entry.name for entry in os.scandir(path) if entry.is_file()]
        except OSError as error:
            raise _rejected(
                "unreadable_archive", f"cannot be listed ({error})", path.name
            ) from None
        super().__init__(path.name, names)
        self.warnings.extend(_nested_warning(name) for name in names if _is_nested(name))

    @contextmanager
    def open(self, name: str) -> Iterator[io.BufferedReader]:
        """The stored file as a buffered byte stream."""
        try:
            stream: io.BufferedReader = io.BufferedReader(io.FileIO(self._path / name), _BUFFER)
        except OSError as error:
            raise _rejected("unreadable_file", f"cannot be opened ({error})", name) from None
        with stream:
            yield stream

    def size(self, name: str) -> int | None:
        try:
            return (self._path / name).stat().st_size
        except OSError:
            return None

    def read_errors(self) -> tuple[type[BaseException], ...]:
        """A disk read fails with OSError."""
        return (OSError,)


class ZipFiles(SourceFiles):
    """The files of a snapshot zip: names checked, sizes capped, entries read as streams."""

    def __init__(self, path: Path, max_unpacked_bytes: int) -> None:
        self._path = path
        try:
            with zipfile.ZipFile(path) as archive:
                infos = archive.infolist()
        except _ZIP_ERRORS as error:
            message = f"is not a readable zip archive ({error}); upload the .zip the SIS exported"
            raise _rejected("unreadable_archive", message, path.name) from None
        _check_names(path.name, infos)
        declared = sum(info.file_size for info in infos)
        if declared > max_unpacked_bytes:
            message = (
                f"unpacks to {declared:,} bytes, more than the limit of {max_unpacked_bytes:,}; "
                "split the export or ask the operator to raise the limit"
            )
            raise _rejected("archive_too_large", message, path.name)
        files = [info for info in infos if not info.is_dir()]
        base = _base_folder(path.name, files)
        self._entries: dict[str, zipfile.ZipInfo] = {}
        leaves: list[str] = []
        nested: list[Issue] = []
        for info in files:
            name = info.filename.replace("\\", "/")
            if _is_nested(name):
                nested.append(_nested_warning(name))
            folder, _, leaf = name.rpartition("/")
            if folder == base:
                leaves.append(leaf)
                self._entries[leaf] = info
        super().__init__(path.name, leaves)
        self.warnings.extend(nested)

    @contextmanager
    def open(self, name: str) -> Iterator[io.BufferedReader]:
        """The entry as a buffered byte stream that refuses to outgrow its declared size."""
        info = self._entries[name]
        try:
            archive = zipfile.ZipFile(self._path)
        except _ZIP_ERRORS as error:
            raise _rejected("unreadable_archive", f"cannot be opened ({error})", name) from None
        try:
            try:
                member = archive.open(info)
            except _ZIP_ERRORS as error:
                message = f"cannot be unpacked ({error}); export the archive again"
                raise _rejected("unreadable_file", message, name) from None
            with member:
                yield io.BufferedReader(_Capped(member, info.file_size, name), _BUFFER)
        finally:
            archive.close()

    def size(self, name: str) -> int | None:
        info = self._entries.get(name)
        return info.file_size if info is not None else None

    def read_errors(self) -> tuple[type[BaseException], ...]:
        """Damaged compressed data fails in any of these ways."""
        return _ZIP_ERRORS


class _Capped(io.RawIOBase):
    """Counts the bytes an entry really unpacks to and stops at its declared size."""

    def __init__(self, inner: IO[bytes], cap: int, name: str) -> None:
        super().__init__()
        self._inner = inner
        self._left = cap
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._inner.read(len(view))
        self._left -= len(data)
        if self._left < 0:
            message = "unpacks to more bytes than the archive declares; the archive is damaged"
            raise _rejected("archive_too_large", message, self._name)
        view[: len(data)] = data
        return len(data)


def _check_names(label: str, infos: list[zipfile.ZipInfo]) -> None:
    problems: list[Issue] = []
    for info in infos:
        name = info.filename.replace("\\", "/")
        if name.startswith("/") or _DRIVE.match(name):
            problems.append(
                rejection("unsafe_name", f"holds an entry with an absolute name {name!r}", label)
            )
        elif ".." in PurePosixPath(name).parts:
            problems.append(
                rejection("unsafe_name", f"holds an entry that climbs out of it: {name!r}", label)
            )
    if problems:
        # One hostile name is enough to distrust the whole archive.
        raise SnapshotRejected(problems)


def _base_folder(label: str, files: list[zipfile.ZipInfo]) -> str:
    """The folder holding manifest.csv: the root, or the one folder an export was zipped in."""
    folders: set[str] = set()
    for info in files:
        folder, _, leaf = info.filename.replace("\\", "/").rpartition("/")
        if leaf.casefold() == "manifest.csv" and not folder.casefold().startswith(_JUNK):
            folders.add(folder)
    if not folders or "" in folders:
        return ""
    if len(folders) == 1:
        return folders.pop()
    listed = ", ".join(sorted(f"{f}/manifest.csv" for f in folders))
    raise _rejected("ambiguous_file", f"holds several snapshots ({listed}); send one", label)


def _is_nested(name: str) -> bool:
    return name.casefold().endswith(_NESTED)


def _nested_warning(name: str) -> Issue:
    message = f"{locate(name)}: an archive inside the snapshot is not opened; it is ignored"
    return Issue(name, None, None, "nested_archive", message, None, "warning")


def _rejected(code: str, message: str, file: str) -> SnapshotRejected:
    return SnapshotRejected([rejection(code, message, file)])
