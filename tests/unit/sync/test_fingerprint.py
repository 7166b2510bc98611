"""The snapshot fingerprint behind the no-op run: equal input, equal print; any change, not."""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import pytest

from rollbook.sync.fingerprint import Fingerprinting, TooLarge, snapshot_fingerprint


def _folder(path: Path, users: str) -> Path:
    path.mkdir()
    (path / "manifest.csv").write_text("propertyName,value\noneroster.version,1.2\n")
    (path / "users.csv").write_text(users)
    return path


def _print(path: Path, catalogue: str = "c1", limit: int = 10**6) -> str:
    return snapshot_fingerprint(path, catalogue_text=catalogue, max_unpacked_bytes=limit)


def test_the_same_files_in_another_folder_print_the_same(tmp_path: Path) -> None:
    assert _print(_folder(tmp_path / "a", "x\n1\n")) == _print(_folder(tmp_path / "b", "x\n1\n"))


def test_one_changed_byte_or_another_catalogue_prints_differently(tmp_path: Path) -> None:
    base = _print(_folder(tmp_path / "a", "x\n1\n"))
    assert _print(_folder(tmp_path / "b", "x\n2\n")) != base
    assert _print(tmp_path / "a", catalogue="c2") != base


def test_a_zip_prints_its_unpacked_content_not_its_timestamps(tmp_path: Path) -> None:
    prints = []
    for n, stamp in enumerate(((2020, 1, 1, 0, 0, 0), (2024, 5, 5, 5, 5, 6))):
        target = tmp_path / f"s{n}.zip"
        with zipfile.ZipFile(target, "w") as archive:
            archive.writestr(zipfile.ZipInfo("users.csv", stamp), "x\n1\n")
        prints.append(_print(target))
    assert prints[0] == prints[1]


def test_a_zip_past_the_unpack_limit_is_not_read_to_the_end(tmp_path: Path) -> None:
    target = tmp_path / "big.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("users.csv", "0" * 100_000)
    with pytest.raises(TooLarge):
        _print(target, limit=1000)


def test_a_fingerprint_asked_for_is_worked_out_there_and_then() -> None:
    where: list[str] = []

    def compute() -> str:
        where.append(threading.current_thread().name)
        return "print"

    fingerprint = Fingerprinting(compute)
    fingerprint.wait()  # nothing begun: nothing to wait for
    assert where == []
    assert fingerprint.result() == "print"
    assert fingerprint.result() == "print"
    fingerprint.start()  # done already: no thread
    assert where == [threading.current_thread().name]


def test_a_fingerprint_begun_is_worked_out_on_its_own_thread_once() -> None:
    where: list[str] = []
    go = threading.Event()

    def compute() -> str:
        go.wait(5)
        where.append(threading.current_thread().name)
        return "print"

    fingerprint = Fingerprinting(compute)
    fingerprint.start()
    fingerprint.start()
    go.set()
    assert fingerprint.result() == "print"
    assert where == ["rollbook-fingerprint"]


def test_a_failure_on_the_thread_is_raised_to_whoever_asks() -> None:
    def compute() -> str:
        raise RuntimeError("disk gone")

    fingerprint = Fingerprinting(compute)
    fingerprint.start()
    fingerprint.wait()
    with pytest.raises(RuntimeError, match="disk gone"):
        fingerprint.result()
