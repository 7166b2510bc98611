"""manifest.csv: the OneRoster version, and which files are sent in bulk, as a delta, or not."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from rollbook.sync.columns import FILE_KEYS, PRODUCT_FILES, REQUIRED_FILES, FileKey
from rollbook.sync.records import (
    FileMode,
    Issue,
    Mode,
    SnapshotRejected,
    Version,
    locate,
    rejection,
)

_FILE_MODES: dict[str, FileMode] = {"bulk": "bulk", "delta": "delta", "absent": "absent"}


@dataclass(frozen=True, slots=True)
class Manifest:
    """What manifest.csv says about the files rollbook reads."""

    version: Version
    mode: Mode
    files: dict[FileKey, FileMode]
    warnings: list[Issue]


def read_manifest(name: str, rows: Iterable[tuple[int, list[str]]]) -> Manifest:
    """Read manifest.csv; SnapshotRejected naming each line that makes the snapshot unusable."""
    properties: dict[str, tuple[int, str]] = {}
    problems: list[Issue] = []
    header_seen = False
    for line, cells in rows:
        if not header_seen:
            header_seen = True
            if [c.strip().casefold() for c in cells[:2]] != ["propertyname", "value"]:
                message = "the header must be propertyName,value (OneRoster manifest)"
                raise SnapshotRejected([rejection("bad_manifest", message, name, 1)])
            continue
        if not cells or not cells[0].strip():
            continue
        prop = cells[0].strip().casefold()
        value = cells[1].strip() if len(cells) > 1 else ""
        if prop in properties and properties[prop][1] != value:
            message = f"{cells[0].strip()} is given again with another value; keep one line"
            problems.append(rejection("bad_manifest", message, name, line))
        properties.setdefault(prop, (line, value))
    if not header_seen:
        raise SnapshotRejected([rejection("empty_file", "is empty", name, 1)])
    version = _version(name, properties, problems)
    files = {key: _file_mode(name, key, version, properties, problems) for key in FILE_KEYS}
    if problems or version is None:
        raise SnapshotRejected(problems)
    mode, warnings = _mode(name, version, files)
    return Manifest(version=version, mode=mode, files=files, warnings=warnings)


def _version(
    name: str, properties: dict[str, tuple[int, str]], problems: list[Issue]
) -> Version | None:
    found = properties.get("oneroster.version")
    if found is None:
        message = "has no oneroster.version line; add one saying 1.1 or 1.2"
        problems.append(rejection("bad_manifest", message, name))
        return None
    line, value = found
    # Some exports write the patch level (1.1.0) or the IMS spelling (v1p1).
    short = value.casefold().removeprefix("v").replace("p", ".").removesuffix(".0")
    if short in ("1.1", "1.2"):
        return cast(Version, short)
    message = f"oneroster.version {value!r} is not supported; rollbook reads OneRoster 1.1 and 1.2"
    problems.append(rejection("bad_manifest", message, name, line, "value"))
    return None


def _file_mode(
    name: str,
    key: FileKey,
    version: Version | None,
    properties: dict[str, tuple[int, str]],
    problems: list[Issue],
) -> FileMode:
    if key == "roles" and version == "1.1":
        return "absent"
    found = properties.get(f"file.{key}".casefold())
    if found is None:
        return "absent"
    line, value = found
    mode = _FILE_MODES.get(value.casefold())
    if mode is None:
        shown = repr(value) if value else "no value"
        message = f"file.{key} has {shown}; write bulk, delta or absent"
        problems.append(rejection("bad_manifest", message, name, line, "value"))
        return "absent"
    return mode


def _mode(name: str, version: Version, files: dict[FileKey, FileMode]) -> tuple[Mode, list[Issue]]:
    sent = {files[key] for key in FILE_KEYS if files[key] != "absent"}
    if not sent:
        message = "marks every file rollbook reads as absent: there is nothing to sync"
        raise SnapshotRejected([rejection("nothing_sent", message, name)])
    warnings: list[Issue] = []
    if sent == {"bulk"}:
        mode: Mode = "full"
    elif sent == {"delta"}:
        mode = "delta"
    else:
        # Deactivating what a bulk file leaves out is only safe when every file is bulk (R19).
        mode = "delta"
        listed = ", ".join(f"{k} {files[k]}" for k in FILE_KEYS if files[k] != "absent")
        message = (
            f"{locate(name)}: mixes bulk and delta files ({listed}); the snapshot is applied "
            "as a delta, so nothing is deactivated for being left out"
        )
        warnings.append(Issue(name, None, None, "mixed_modes", message, None, "warning"))
    if mode == "full":
        problems = [
            rejection(
                "missing_file",
                f"marks file.{key} absent, but a full (bulk) snapshot needs {key}.csv",
                name,
            )
            for key in REQUIRED_FILES[version]
            if files[key] == "absent"
        ]
        first, second = PRODUCT_FILES
        if (files[first] == "absent") != (files[second] == "absent"):
            sent_one, missing = (second, first) if files[first] == "absent" else (first, second)
            message = (
                f"sends {sent_one}.csv without {missing}.csv; products need both files (or neither)"
            )
            problems.append(rejection("missing_file", message, name))
        if problems:
            raise SnapshotRejected(problems)
    return mode, warnings
