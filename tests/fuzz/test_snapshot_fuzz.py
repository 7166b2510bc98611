"""Generated malformed OneRoster snapshots (hypothesis): rejected whole, or applied row by row.

quality.md: "generated malformed snapshots, >= 10,000 cases in the nightly set, 500 in CI: no
crash and no traceback to the user; each is rejected whole or reported row by row (R22); a
rejected run leaves the roster unchanged."

A snapshot is drawn as data (schools, people with their roles, classes, enrollments,
products and settings; names and ids from a pool of awkward text: quotes, commas, newlines,
NUL, right-to-left marks, formula-looking cells, very long values), written by the test
builder (`tests/oneroster.py`), then bent byte by byte: headers renamed, dropped or given
twice, files re-encoded (Latin-1, UTF-16, BOMs), NUL bytes, stray quotes and line breaks,
rows given twice, huge fields, files emptied, truncated or left out, the manifest broken or
missing, random bytes spliced in; and packed as a folder or a zip (a folder inside it, odd
entry names: `..`, absolute, drive letters, backslashes, `__MACOSX`, nested archives, two
spellings of one file, damaged or truncated archives, a tiny unpack limit).

- `test_reading_…` (no database): `open_snapshot` and every row generator either finish or
  raise `SnapshotRejected` with messages that name their file; nothing else escapes.
- `test_a_sync_of_…` (each backend): the Engine runs the snapshot against an organization
  holding a small roster; the run ends `rejected` (roster unchanged, compared with the
  canonical dump) or `applied`/`needs_approval` with row errors naming file and line; never
  `failed`, never a traceback or a database error in any message.

Examples: ROLLBOOK_SNAPSHOT_FUZZ_EXAMPLES (default 500) for reading, and two fifths of it (on
SQLite) and a fifth (on PostgreSQL) for whole syncs, or ROLLBOOK_SNAPSHOT_FUZZ_SYNC_EXAMPLES.
A run held for approval (R20) is approved, and must then apply. `make fuzz-snapshots` runs
10,000 (4,000 and 2,000 whole syncs).
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollbook.store.db import Database
from rollbook.sync.records import Issue, SnapshotRejected
from rollbook.sync.sources.oneroster_csv import open_snapshot
from tests.factories import Roster
from tests.integration.syncing import CATALOGUE, Sis, canonical
from tests.oneroster import FILES, OneRoster, district

EXAMPLES = int(os.environ.get("ROLLBOOK_SNAPSHOT_FUZZ_EXAMPLES", "500"))
SYNC_EXAMPLES = os.environ.get("ROLLBOOK_SNAPSHOT_FUZZ_SYNC_EXAMPLES")
LIMIT = 10_000_000
# What a message to an administrator must never hold: a traceback, or the database's words.
LEAKS = (
    "Traceback",
    'File "',
    "sqlalchemy",
    "psycopg",
    "sqlite3",
    "IntegrityError",
    "OperationalError",
    "DataError",
    "ProgrammingError",
    "object at 0x",
)

# Text --------------------------------------------------------------------------------------

NASTY = (
    "",
    " ",
    '"',
    '","',
    'a"b',
    "a,b",
    "line\nbreak",
    "cr\rlf\r\n",
    "tab\there",
    "\x00",
    "nul\x00inside",
    "=cmd|' /C calc'!A0",
    "+SUM(1)",
    "@import",
    "\u202eevil",
    "zero\u200bwidth",
    "😀",
    "\uff21\uff4e\uff41",  # fullwidth "Ana"
    "Zoë",
    "<script>alert(1)</script>",
    "NULL",
    "  padded  ",
    ";",
    "\\",
    "x" * 300,
)
texts = st.one_of(st.sampled_from(NASTY), st.text(max_size=12))
names = st.one_of(st.sampled_from(["Ana", "Tim", "Lee"]), texts)
people_ids = st.one_of(
    st.sampled_from(["u1", "u2", "u3", "u4", "t1", "ghost", "U1", " u1 "]), texts
)
class_ids = st.one_of(st.sampled_from(["c1", "c2", "c3", "ghost", "C1"]), texts)
school_refs = st.sampled_from(["s1", "s2", "s9", "district", "", "s1,s2"])
grades = st.one_of(st.sampled_from(["03", "KG", "12", "13", "Grade 3", "", "03,04", "PK"]), texts)
products = st.sampled_from(["ill", "reading", "espanol", "zzz", "", "ILL", " ill "])
roles = st.sampled_from(["student", "teacher", "aide", "administrator", "principal", "", "x"])
settings_columns = st.dictionaries(
    st.sampled_from(
        [
            "metadata.ill.language_support",
            "metadata.reading.session_minutes",
            "metadata.ill.nonsense",
            "metadata.zzz.x",
            "metadata.",
        ]
    ),
    st.one_of(st.sampled_from(["Spanish", "spanish", "Klingon", "30", "9", "121", "", "x"]), texts),
    max_size=2,
)


@st.composite
def rosters(draw: st.DrawFn) -> OneRoster:
    """A snapshot as data: mostly well-formed rows with awkward values and references."""
    version = draw(st.sampled_from(["1.2", "1.2", "1.1"]))
    snap = OneRoster(
        version=version,
        mode=draw(st.sampled_from(["bulk", "bulk", "bulk", "delta"])),
        district=draw(st.sampled_from(["district", "district", None])),
    )
    schools = ["s1", *draw(st.lists(st.sampled_from(["s2", "s3"]), unique=True))]
    for school in schools:
        snap.school(school, name=draw(st.one_of(st.none(), names)))
    if draw(st.booleans()):
        snap.school(draw(texts), name=draw(names), type=draw(st.sampled_from(["school", "x", ""])))
    status = st.sampled_from(["", "", "active", "tobedeleted", "x"])
    for n in range(draw(st.integers(0, 6))):
        sourced = f"u{n + 1}" if draw(st.integers(0, 4)) else draw(people_ids)
        extra: dict[str, Any] = draw(settings_columns)
        for column in ("email", "identifier", "middleName", "preferredGivenName"):
            if draw(st.integers(0, 3)) == 0:
                extra[column] = draw(texts)
        if draw(st.integers(0, 5)) == 0:
            extra["enabledUser"] = draw(st.sampled_from(["false", "FALSE", "no", ""]))
        snap.student(
            sourced,
            draw(st.one_of(st.none(), texts, st.sampled_from(["student.u1", "STUDENT.U2"]))),
            grades=draw(grades),
            given=draw(names),
            family=draw(st.one_of(st.none(), names)),
            schools=draw(st.lists(school_refs, max_size=2)) if draw(st.booleans()) else ("s1",),
            status=draw(status),
            **extra,
        )
    for n in range(draw(st.integers(0, 3))):
        sourced = f"t{n + 1}" if draw(st.integers(0, 4)) else draw(people_ids)
        if draw(st.integers(0, 3)) == 0:
            snap.administrator(sourced, district=draw(st.booleans()) and snap.district is not None)
        else:
            snap.teacher(sourced, draw(st.one_of(st.none(), texts)), given=draw(names))
    for n in range(draw(st.integers(0, 4))):
        snap.klass(
            f"c{n + 1}" if draw(st.integers(0, 4)) else draw(class_ids),
            draw(st.one_of(st.none(), names)),
            school=draw(school_refs),
            code=draw(st.one_of(st.none(), texts)),
            grades=draw(grades),
            subjects=draw(st.one_of(st.just("Math"), texts)),
            periods=draw(st.one_of(st.just("1"), texts)),
            status=draw(status),
        )
    users = [r["sourcedId"] for r in snap.rows["users"]] or ["u1"]
    klasses = [r["sourcedId"] for r in snap.rows["classes"]] or ["c1"]
    for _ in range(draw(st.integers(0, 8))):
        snap.enroll(
            draw(st.one_of(st.sampled_from(klasses), class_ids)),
            draw(st.one_of(st.sampled_from(users), people_ids)),
            draw(roles),
            status=draw(status),
        )
    for _ in range(draw(st.integers(0, 3))):
        snap.product(draw(st.one_of(st.sampled_from(klasses), class_ids)), draw(products))
    return snap


# Bending the bytes -------------------------------------------------------------------------

CSV_NAMES = [f"{name}.csv" for name in FILES]
ENCODINGS = ("latin-1", "utf-16", "utf-16-le", "utf-16-be", "cp1252", "utf-8-sig", "utf-32")


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _cells(line: bytes) -> list[bytes]:
    return line.split(b",")


@dataclass(frozen=True)
class Bend:
    """One change to the written files."""

    op: str
    file: str
    a: int = 0
    b: int = 0
    text: str = ""
    data: bytes = b""

    def apply(self, files: dict[str, bytes]) -> None:
        if self.op == "drop_file":
            files.pop(self.file, None)
            return
        if self.op == "add_file":
            files[self.file] = self.data
            return
        data = files.get(self.file)
        if data is None:
            return
        lines = _lines(data)
        header = _cells(lines[0])
        if self.op == "rename_header":
            header[self.a % len(header)] = self.text.encode("utf-8", "surrogatepass")
            lines[0] = b",".join(header)
        elif self.op == "drop_column":
            k = self.a % len(header)
            lines = [b",".join(c[:k] + c[k + 1 :]) for c in map(_cells, lines)]
        elif self.op == "drop_header_cell":
            k = self.a % len(header)
            lines[0] = b",".join(header[:k] + header[k + 1 :])
        elif self.op == "duplicate_column":
            k = self.a % len(header)
            lines[0] = b",".join([*header, header[k]])
        elif self.op == "encode":
            text = data.decode("utf-8", "replace")
            files[self.file] = text.encode(self.text, "replace")
            return
        elif self.op == "prefix":
            files[self.file] = self.data + data
            return
        elif self.op == "splice":
            at = self.a % (len(data) + 1)
            files[self.file] = data[:at] + self.data + data[at + self.b :]
            return
        elif self.op == "truncate":
            files[self.file] = data[: self.a % (len(data) + 1)]
            return
        elif self.op == "duplicate_row":
            k = self.a % len(lines)
            lines.insert(k, lines[k])
        elif self.op == "huge_field":
            k = 1 + self.a % max(1, len(lines) - 1)
            if k < len(lines):
                cells = _cells(lines[k])
                cells[self.b % len(cells)] = b"H" * (1000 + self.b * 997 % 300_000)
                lines[k] = b",".join(cells)
        elif self.op == "crlf":
            files[self.file] = data.replace(b"\n", b"\r\n")
            return
        elif self.op == "cr_only":
            files[self.file] = data.replace(b"\n", b"\r")
            return
        elif self.op == "empty":
            files[self.file] = b""
            return
        elif self.op == "header_only":
            lines = lines[:1]
        files[self.file] = b"\n".join(lines)


def bends(names: list[str]) -> st.SearchStrategy[Bend]:
    any_file = st.sampled_from([*names, "manifest.csv"])
    number = st.integers(0, 10_000)
    return st.one_of(
        st.builds(Bend, st.just("rename_header"), any_file, number, text=texts),
        st.builds(
            Bend,
            st.sampled_from(["drop_column", "drop_header_cell", "duplicate_column"]),
            any_file,
            number,
        ),
        st.builds(Bend, st.just("encode"), any_file, text=st.sampled_from(ENCODINGS)),
        st.builds(
            Bend,
            st.just("prefix"),
            any_file,
            data=st.sampled_from(
                [b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf\xef\xbb\xbf", b"\x00"]
            ),
        ),
        st.builds(
            Bend,
            st.just("splice"),
            any_file,
            number,
            st.integers(0, 3),
            data=st.one_of(
                st.sampled_from([b"\x00", b'"', b"\n", b"\r", b'"\n"', b",", b"\xff", b"\xc3"]),
                st.binary(max_size=20),
            ),
        ),
        st.builds(Bend, st.just("truncate"), any_file, number),
        st.builds(Bend, st.just("duplicate_row"), any_file, number),
        st.builds(Bend, st.just("huge_field"), any_file, number, number),
        st.builds(
            Bend,
            st.sampled_from(["crlf", "cr_only", "empty", "header_only", "drop_file"]),
            any_file,
        ),
        st.builds(
            Bend,
            st.just("add_file"),
            st.sampled_from(["manifest.csv", "USERS.csv", "notes.txt", "inner.zip", "x.CSV"]),
            data=st.one_of(
                st.sampled_from(
                    [
                        b"propertyName,value\noneroster.version,9.9\n",
                        b"propertyName,value\nfile.users,bulk\n",
                        b"value,propertyName\n",
                        b"PK\x03\x04",
                    ]
                ),
                st.binary(max_size=40),
            ),
        ),
    )


# Packing -----------------------------------------------------------------------------------

ODD_NAMES = (
    "../escape.csv",
    "../../etc/passwd",
    "/absolute.csv",
    "C:/windows.csv",
    "C:\\windows.csv",
    "..\\escape.csv",
    "__MACOSX/._users.csv",
    "folder/",
    "inner.zip",
    "nested/inner.tar.gz",
    "ünïcode.csv",
    "Users.csv",
    "MANIFEST.CSV",
    "a" * 200 + ".csv",
)


@dataclass
class Packing:
    """How the files reach rollbook: a folder, or a zip and what else is in it."""

    as_zip: bool
    prefix: str = ""
    compression: int = zipfile.ZIP_DEFLATED
    extra: list[tuple[str, bytes]] = field(default_factory=list)
    cut: int | None = None
    flip: int | None = None
    limit: int = LIMIT

    def write(self, files: dict[str, bytes], root: Path) -> Path:
        if not self.as_zip:
            folder = root / "snapshot"
            folder.mkdir()
            for name, data in files.items():
                (folder / name).write_bytes(data)
            return folder
        buffer = io.BytesIO()
        with (
            warnings.catch_warnings(),  # "Duplicate name": two entries of one name, on purpose
            zipfile.ZipFile(buffer, "w", self.compression) as archive,
        ):
            warnings.simplefilter("ignore", UserWarning)
            for name, data in files.items():
                archive.writestr(self.prefix + name, data)
            for name, data in self.extra:
                archive.writestr(name, data)
        raw = bytearray(buffer.getvalue())
        if self.flip is not None and raw:
            raw[self.flip % len(raw)] ^= 0x5A
        if self.cut is not None:
            raw = raw[: self.cut % (len(raw) + 1)]
        target = root / "snapshot.zip"
        target.write_bytes(bytes(raw))
        return target


packings = st.one_of(
    st.builds(Packing, st.just(False)),
    st.builds(
        Packing,
        st.just(True),
        prefix=st.sampled_from(["", "", "export/", "a/b/", "ÜBER/"]),
        compression=st.sampled_from(
            [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
        ),
        extra=st.lists(
            st.tuples(st.sampled_from(ODD_NAMES), st.sampled_from([b"", b"x", b"PK\x05\x06"])),
            max_size=2,
        ),
        cut=st.one_of(st.none(), st.none(), st.none(), st.integers(0, 5000)),
        flip=st.one_of(st.none(), st.none(), st.none(), st.integers(0, 5000)),
        limit=st.sampled_from([LIMIT, LIMIT, LIMIT, 300, 2000]),
    ),
)


@dataclass
class Case:
    """One generated upload: the roster it was built from, its bends and its packing."""

    roster: OneRoster
    bends: list[Bend]
    packing: Packing

    def __repr__(self) -> str:
        files = {name: data[:2000] for name, data in self.roster.files().items()}
        return f"Case(files={files!r}, bends={self.bends!r}, packing={self.packing!r})"

    def _files(self) -> dict[str, bytes]:
        files = self.roster.files()
        for bend in self.bends:
            bend.apply(files)
        return files

    def write(self, root: Path) -> Path:
        return self.packing.write(self._files(), root)

    def sent(self) -> str:
        """Every byte of the upload as text, to tell an echoed cell from a leak."""
        return b"".join(self._files().values()).decode("utf-8", "replace")


@st.composite
def cases(draw: st.DrawFn) -> Case:
    roster = draw(rosters())
    written = [n for n in roster.files() if n != "manifest.csv"] or CSV_NAMES
    return Case(roster, draw(st.lists(bends(written), max_size=3)), draw(packings))


# Checks ------------------------------------------------------------------------------------


def _clean(message: str | None, sent: str = "") -> None:
    """No leak in a message; a word the snapshot itself carries is its cell quoted back (a
    generated grade `sqlite3` is reported as `'sqlite3' is not a OneRoster grade code`)."""
    assert message, "an issue without a message"
    for leak in LEAKS:
        assert leak not in message or leak in sent, message


def _check_rejection(issues: list[Issue]) -> None:
    assert issues, "a rejection without a reason"
    for issue in issues:
        assert issue.severity == "error"
        assert issue.file, issue
        assert issue.file in issue.message, issue
        _clean(issue.message)


def _read_everything(path: Path, limit: int) -> None:
    snapshot = open_snapshot(path, max_unpacked_bytes=limit, catalogue=CATALOGUE)
    for issue in snapshot.warnings:
        _clean(issue.message)
    for rows in (
        snapshot.orgs,
        snapshot.users,
        snapshot.roles,
        snapshot.classes,
        snapshot.enrollments,
        snapshot.resources,
        snapshot.class_resources,
    ):
        for row in rows():
            if isinstance(row, Issue):
                assert row.file and row.line, row
                _clean(row.message)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=cases())
def test_reading_a_generated_snapshot_rejects_it_or_reads_every_row(case: Case) -> None:
    with tempfile.TemporaryDirectory() as root:
        path = case.write(Path(root))
        try:
            _read_everything(path, case.packing.limit)
        except SnapshotRejected as rejected:
            _check_rejection(rejected.issues)


# Whole syncs -------------------------------------------------------------------------------


def _sync_examples(backend: str) -> int:
    if SYNC_EXAMPLES:
        return int(SYNC_EXAMPLES)
    return max(1, EXAMPLES * 2 // (5 if backend.startswith("sqlite") else 10))


def _base() -> OneRoster:
    """What the organization holds before each generated snapshot arrives."""
    snap = district(students=4, teachers=1, classes=2)
    snap.product("c1", "ill")
    snap.find("users", "u1")["metadata.ill.language_support"] = "Spanish"
    return snap


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _base().write(tmp_path_factory.mktemp("fuzz-base") / "base")


def test_a_sync_of_generated_snapshots_is_rejected_whole_or_applied_row_by_row(
    backend: str, db: Database, client: TestClient, base: Path
) -> None:
    outcomes: dict[str, int] = {}

    @settings(
        max_examples=_sync_examples(backend),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=cases())
    def one(case: Case) -> None:
        with tempfile.TemporaryDirectory() as root:
            sis = Sis(Roster.new(db, client), Path(root), max_unpacked_bytes=case.packing.limit)
            assert sis.run(base, changes=False).status == "applied"
            before = canonical(db, sis.roster.org.id)
            report = sis.run(case.write(Path(root)), changes=False)
            status = report.status
            outcomes[status] = outcomes.get(status, 0) + 1
            assert status in ("rejected", "applied", "needs_approval"), (report.run, repr(case))
            sent = case.sent()
            _clean(report.run["message"] or "-", sent)
            for item in report.errors + report.warnings + report.conflicts:
                _clean(item["message"], sent)
            if status != "applied":
                assert canonical(db, sis.roster.org.id) == before
            if status == "needs_approval":
                # Held (R20): approving applies it against the roster as it is, which must
                # work as well as any run; the fuzzed rows reach the writes this way too.
                approved = sis.approve(report.id)
                outcomes["approved"] = outcomes.get("approved", 0) + 1
                assert approved.status == "applied", (approved.run, repr(case))
                _clean(approved.run["message"] or "-", sent)
            if status == "rejected":
                assert report.errors and all(e["file"] for e in report.errors), report.run
            else:
                for error in report.errors:
                    assert error["file"], error
                    assert error["line"] or error["code"] in ("missing_file",), error

    one()
    print(f"\n{backend.split(':', 1)[0]}: {sum(outcomes.values())} generated syncs: {outcomes}")
