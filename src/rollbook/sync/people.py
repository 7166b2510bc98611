"""Students and educators of a run: match (R6, R9, R10), adopt (R7), create (R8), update
(R11, R12, R16, R17), deactivate and reactivate (R19).

Staged users whose rows are those their person was last synced from, with no hand edit
since, are settled first in one join (`sync/settle.py`). The rest are read in chunks; each
chunk's candidates come from one query on the three keys. An entity whose fingerprint and
version say that neither the SIS nor a person touched it since the last run is recognised
without comparing its fields (R17 still holds: a hand edit moves `version`). Everything
else goes field by field through `sync/reconcile.py` (`sync/people_updates.py`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from select import select as wait_for
from typing import Any, BinaryIO, NamedTuple

from sqlalchemy import func, select, union
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from rollbook.domain.fields import mask_of
from rollbook.domain.matching import Key, match_record
from rollbook.domain.values import username_key
from rollbook.store.bulk import any_of, bulk_insert, bulk_insert_dicts, indexes_built_after, parts
from rollbook.store.db import Database
from rollbook.store.models import Person, PersonSchool, ProductSetting, table_of, utcnow
from rollbook.store.sync_tables import StageRole, StageSkipped, StageUser, SyncKey
from rollbook.sync.candidates import CandidateIndex
from rollbook.sync.context import RunContext
from rollbook.sync.fingerprint import entity_print
from rollbook.sync.incoming import Incoming, Role, Skip, Standing, person_from
from rollbook.sync.people_updates import (
    COLUMNS,
    PersonUpdater,
    derived,
    reprint,
    settings_edited_by_hand,
)
from rollbook.sync.settle import salt_of, settled_people, staged_rows, unsettled_lines
from rollbook.sync.writes import (
    KeyWriter,
    active_sis,
    analyze,
    deactivate_absent,
    doubled,
    ids_of_new,
    new_sis_entity,
    planned_with_values,
    record_conflict,
    record_issue,
    skipped_refs,
    snapshot_of,
)

log = logging.getLogger("rollbook.sync")
CHUNK = 1000
PERSON_KEYS: dict[Key, str] = {
    "username": "username_key",
    "external_id": "external_id",
    "alt_external_id": "alt_external_id",
}
_P = table_of(Person)


def _roles(
    session: Session, reading: Reading, sourced_ids: list[str]
) -> tuple[dict[str, list[Role]], dict[str, tuple[int, int]]]:
    """The role rows of these users that count, and the sum and count of the fingerprints
    of all their role rows (as sync/settle.py adds them up)."""
    found: dict[str, list[Role]] = defaultdict(list)
    prints: dict[str, tuple[int, int]] = {}
    if reading.version != "1.2":
        return found, prints
    sr = table_of(StageRole)  # Plain rows, not ORM results: a third less to fetch.
    query = select(
        sr.c.user_sourced_id,
        sr.c.role,
        sr.c.role_type,
        sr.c.org_sourced_id,
        sr.c.line,
        sr.c.status,
        sr.c.row_print,
    ).where(sr.c.run_id == reading.run_id, any_of(session, sr.c.user_sourced_id, sourced_ids))
    with planned_with_values(session):
        # In file order, sorted here: asked of the database, SQLite walked the run's roles
        # in line order to spare the sort, all of them for each chunk of users (1,000
        # chunks of a million roles in a first sync of 1,000,000 students).
        rows = sorted(session.execute(query), key=itemgetter(4))
    for user, role, role_type, org_ref, line, status, row_print in rows:
        total, count = prints.get(user, (0, 0))
        prints[user] = (total + (row_print or 0), count + 1)
        if status != "tobedeleted":
            found[user].append(Role(role, role_type, org_ref, line))
    return found, prints


def _standings(ctx: RunContext, sourced_ids: list[str]) -> dict[str, Standing]:
    """A 1.2 delta may send users without their unchanged roles.csv rows: the stored kind,
    schools and role of the people these SIS ids name stand (a full snapshot sends all)."""
    if ctx.full or ctx.version != "1.2" or not sourced_ids:
        return {}
    people = ctx.session.execute(
        select(_P.c.id, _P.c.external_id, _P.c.kind, _P.c.role, _P.c.admin_scope).where(
            _P.c.org_id == ctx.org.id, any_of(ctx.session, _P.c.external_id, sourced_ids)
        )
    ).all()
    schools: dict[int, list[int]] = defaultdict(list)
    for person_id, school_id in ctx.session.execute(
        select(PersonSchool.person_id, PersonSchool.school_id).where(
            any_of(ctx.session, PersonSchool.person_id, [p.id for p in people])
        )
    ):
        schools[person_id].append(school_id)
    return {
        p.external_id: Standing(p.kind, sorted(schools[p.id]), p.role, p.admin_scope)
        for p in people
    }


def _claimed_twice(ctx: RunContext) -> dict[Key, set[str]]:
    """R9: keys that two incoming records both carry."""
    twice: dict[Key, set[str]] = {}
    for key, column in (
        ("username", StageUser.username_key),
        ("alt_external_id", StageUser.identifier),
    ):
        twice[key] = set(  # type: ignore[index]
            ctx.session.scalars(
                select(column)
                .where(StageUser.run_id == ctx.run_id, column.is_not(None), column != "")
                .group_by(column)
                .having(func.count() > 1)
            )
        )
    return twice


def _contested(ctx: RunContext) -> set[int]:
    """R9: existing people that two or more staged records point at, by any of their keys
    (a username handed from one person to another in one snapshot)."""
    su = table_of(StageUser)
    run, org = su.c.run_id == ctx.run_id, _P.c.org_id == ctx.org.id
    pairs = union(
        select(_P.c.id, su.c.line).join(su, su.c.username_key == _P.c.username_key).where(run, org),
        select(_P.c.id, su.c.line).join(su, su.c.sourced_id == _P.c.external_id).where(run, org),
        select(_P.c.id, su.c.line)
        .join(su, su.c.identifier == _P.c.alt_external_id)
        .where(run, org, su.c.identifier != ""),
    ).subquery()
    return set(
        ctx.session.scalars(
            select(pairs.c.id).group_by(pairs.c.id).having(func.count(pairs.c.line) > 1)
        )
    )


def _candidates(ctx: RunContext, records: Sequence[Incoming]) -> list[Row[Any]]:
    """The stored people sharing a key with any record of the chunk: one indexed lookup per
    key (an OR across three columns makes SQLite scan the table)."""
    wanted = {
        "username_key": {username_key(r.values["username"]) for r in records},
        "external_id": {r.sourced_id for r in records},
        "alt_external_id": {
            r.values["alt_external_id"] for r in records if r.values.get("alt_external_id")
        },
    }
    columns = (
        _P.c.id,
        _P.c.kind,
        _P.c.origin,
        _P.c.status,
        _P.c.version,
        _P.c.synced_version,
        _P.c.sis_hash,
        _P.c.sis_print,
        _P.c.username_key,
        _P.c.external_id,
        _P.c.alt_external_id,
    )
    found: dict[int, Any] = {}
    with planned_with_values(ctx.session):
        for column, values in wanted.items():
            if values:
                query = select(*columns).where(
                    _P.c.org_id == ctx.org.id, any_of(ctx.session, _P.c[column], values)
                )
                for row in ctx.session.execute(query):
                    found[row.id] = row
    return list(found.values())


@dataclass(frozen=True)
class Reading:
    """What working out a chunk of staged users depends on besides the staged rows: the run
    and what the people step found before its chunks. Picklable, for `prepare_apart`."""

    run_id: int
    version: str
    first: bool
    salt: str
    schools: dict[str, int]
    district_refs: set[str]
    # R9: keys two staged records carry; people two records point at.
    twice: dict[Key, set[str]]
    contested: set[int]
    # Sourced ids with a row skipped for an error; one staged row may share it (R9).
    skipped: set[str]


class Prepared(NamedTuple):
    """A chunk of staged users worked out, nothing written yet (`PeopleStep._apply` writes).

    `early`, in file order: ("ignored", sourced id), ("held", sourced id, issue) or
    ("skipped", record); `decided`, in file order, for the other records: ("conflict",
    record, key, candidates, message), ("create", record, new row, first history entry) or
    ("match", record, stored person)."""

    prints: dict[str, str | None]
    early: list[tuple[Any, ...]]
    decided: list[tuple[Any, ...]]


class Preparer:
    """Works out chunks of staged users in a session: in the run's own (`ctx` given, which
    looks people up), or in another process's for an organization's first full run, which
    looks nobody up (`prepare_apart`)."""

    def __init__(self, session: Session, reading: Reading, ctx: RunContext | None) -> None:
        self.session = session
        self.reading = reading
        self.ctx = ctx

    def prepare(self, chunk: list[Row[Any]]) -> Prepared:
        reading, ctx = self.reading, self.ctx
        roles, role_prints = _roles(self.session, reading, [r.sourced_id for r in chunk])
        unroled = [r.sourced_id for r in chunk if r.sourced_id not in roles]
        stored = _standings(ctx, unroled) if ctx is not None else {}
        one_one = reading.version == "1.1"
        prints = {
            r.sourced_id: entity_print(
                reading.salt,
                r.row_hash,
                None if one_one else role_prints.get(r.sourced_id, (0, 0)),
            )
            for r in chunk
        }
        early: list[tuple[Any, ...]] = []
        records: list[Incoming] = []
        for row in chunk:
            made = person_from(
                row._mapping,
                roles.get(row.sourced_id, []),
                version=reading.version,  # type: ignore[arg-type]
                schools=reading.schools,
                district_refs=reading.district_refs,
                stored=stored.get(row.sourced_id),
            )
            if isinstance(made, Skip):
                if made.error is None:
                    early.append(("ignored", made.sourced_id))
                else:
                    early.append(("held", made.sourced_id, made.error))
            elif made.sourced_id in reading.skipped:
                early.append(("skipped", made))
            else:
                records.append(made)
        # A first sync: a record could only meet a person this run created from another record
        # sharing a key with it, and R9 holds both of those back (a sourcedId, username or
        # identifier two records carry), so there is nobody to look up (a tenth of a first
        # sync on PostgreSQL).
        lookup = records and not reading.first
        assert ctx is not None or not lookup, "only a first run is worked out apart"
        rows = _candidates(ctx, records) if lookup and ctx is not None else []
        by_id = {row.id: row for row in rows}
        index = CandidateIndex(rows, PERSON_KEYS)
        decided: list[tuple[Any, ...]] = []
        for record in records:
            name_key = username_key(record.values["username"])
            alt = record.values.get("alt_external_id")
            found = index.found(
                {"username": name_key, "external_id": record.sourced_id, "alt_external_id": alt}
            )
            twice = [
                k
                for k, v in (("username", name_key), ("alt_external_id", alt))
                if v and v in reading.twice[k]  # type: ignore[index]
            ]
            match = match_record(
                kind=record.kind,
                found=found,
                claimed_twice=twice,  # type: ignore[arg-type]
                contested=reading.contested,
            )
            if match.outcome == "conflict":
                decided.append(
                    ("conflict", record, match.key, list(match.candidates), match.message)
                )
            elif match.outcome == "create":
                new_row = _person_row(record, prints[record.sourced_id])
                decided.append(("create", record, new_row, snapshot_of(record)))
            else:
                decided.append(("match", record, by_id[match.entity_id]))
        return Prepared(prints, early, decided)


# Chunks a first run must have for its chunks to be worked out in another process: starting
# one (a new interpreter) takes about a second.
APART_CHUNKS = 40
# Of an organization's first run's chunks, the first `HERE_FIRST` and every `HERE_EVERY`th
# after are worked out by the run itself, while the other process starts (a new interpreter
# importing the program: half a second) and between writing the others, which that process
# works out more slowly than the run writes them: in a first sync of 100,000 on SQLite the
# run waited for it 4.2 s of a 10.7 s people step, 0.07-0.44 s of 6.1-7.0 s with these and
# the chunks read off the pipe by a thread (`_Apart.__iter__`). At 1,000,000 the people
# step took 81-85 s with every third chunk here (the other process waiting for the run),
# 69.4 s with every fourth (the run waiting 0.9 s), 69.7 s with every fifth.
HERE_FIRST = 10
HERE_EVERY = 4
# How long the run's reading thread waits for the other process's next chunk before the run
# works out the rest itself (a chunk takes it some 30 ms; the first one also waits for it
# to start).
APART_WAIT_SECONDS = 300.0
# Chunks read off the other process's pipe and not yet written by the run, at most: each
# some 0.7 MB pickled (1,000 people).
APART_AHEAD = 32


def prepare_apart(work: str, out: BinaryIO) -> None:
    """In a process of its own (`python -m rollbook.sync.apart`): work out the chunks of
    staged users whose lines the file `work` lists, with the run's database and `Reading`,
    in order, and write each to `out`, pickled after its length."""
    with open(work, "rb") as handle:
        # Written by the run that started this process, in a file only it can read.
        url, reading, chunks = pickle.load(handle)  # noqa: S301
    # It names the database, password included: gone as soon as it is read.
    with contextlib.suppress(OSError):
        os.unlink(work)
    db = Database.connect(url, pool_size=1)
    try:
        with db.session(write=False) as session:
            preparer = Preparer(session, reading, None)
            for lines in chunks:
                rows = staged_rows(session, StageUser, reading.run_id, lines)
                data = pickle.dumps(preparer.prepare(rows), pickle.HIGHEST_PROTOCOL)
                out.write(len(data).to_bytes(_LENGTH, "big") + data)
                out.flush()
    finally:
        db.dispose()


_LENGTH = 8


class _Lost(Exception):
    """The process working out chunks stopped before the last one."""


class _Apart:
    """`prepare_apart` in a new interpreter (`python -m rollbook.sync.apart`, not a fork:
    SQLite forbids using in a forked child what the parent had open, and not
    `multiprocessing`'s spawn, which runs the parent's main script again, a script without
    a `__main__` guard included). Iterating receives its chunks in order through its standard
    output, and raises `_Lost` if it stops before the last (it died, failed, sent what
    cannot be read, or sent nothing for `APART_WAIT_SECONDS`). What it works on goes through
    a file only this user can read (it names the database, password included)."""

    def __init__(self, session: Session, reading: Reading, chunks: list[Sequence[int]]) -> None:
        url = session.get_bind().engine.url.render_as_string(hide_password=False)
        handle, self._work = tempfile.mkstemp(prefix="rollbook-people-")
        try:
            with os.fdopen(handle, "wb") as out:
                pickle.dump((url, reading, chunks), out, pickle.HIGHEST_PROTOCOL)
            # The modules this process imports from, whatever put them on its path.
            path = os.pathsep.join(p for p in sys.path if p)
            self._process = subprocess.Popen(  # noqa: S603 - this interpreter, our module
                [sys.executable, "-m", "rollbook.sync.apart", self._work],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": path},
                bufsize=0,
            )
        except BaseException:
            os.unlink(self._work)
            raise
        self._count = len(chunks)
        self._stopping = threading.Event()
        self._reader: threading.Thread | None = None

    def __iter__(self) -> Iterator[Prepared]:
        """The chunks, in order. A thread of this process reads them off the pipe as they
        come, up to `APART_AHEAD` ahead of the run: with only the pipe's 64 KiB between them
        the other process waited to write each chunk until the run asked for it, and the run
        waited for it to work out the next (docs/benchmarks.md, twenty-second session)."""
        ready: queue.Queue[bytes | Exception] = queue.Queue(APART_AHEAD)
        self._reader = threading.Thread(
            target=self._drain, args=(ready,), name="rollbook-people-apart", daemon=True
        )
        self._reader.start()
        for number in range(1, self._count + 1):
            frame = ready.get()
            try:
                if isinstance(frame, Exception):
                    raise frame
                # Written by the process this run started, through a pipe only the two hold.
                prepared = pickle.loads(frame)  # noqa: S301
            except Exception as error:
                raise _Lost(f"its other process stopped at chunk {number}: {error!r}") from None
            yield prepared

    def _frames(self) -> Iterator[bytes]:
        """The pickled chunks off the pipe, as the other process writes them."""
        assert self._process.stdout is not None
        source = self._process.stdout.fileno()
        for _ in range(self._count):
            size = int.from_bytes(_read(source, _LENGTH), "big")
            yield _read(source, size)

    def _drain(self, ready: queue.Queue[bytes | Exception]) -> None:
        """The reading thread: each chunk into `ready`, or what stopped the reading."""
        try:
            for frame in self._frames():
                if not self._put(ready, frame):
                    return
        except Exception as error:
            self._put(ready, error)

    def _put(self, ready: queue.Queue[bytes | Exception], item: bytes | Exception) -> bool:
        """`item` into `ready` once there is room; False if the run stopped meanwhile."""
        while not self._stopping.is_set():
            try:
                ready.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def stop(self) -> None:
        self._stopping.set()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        # The reader sees the pipe end once the process has.
        if self._reader is not None:
            self._reader.join()
        if self._process.stdout is not None:
            self._process.stdout.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._work)


def _read(source: int, size: int) -> bytes:
    """Exactly `size` bytes from the pipe, each part within `APART_WAIT_SECONDS`."""
    parts: list[bytes] = []
    left = size
    while left:
        ready, _, _ = wait_for([source], [], [], APART_WAIT_SECONDS)
        if not ready:
            raise TimeoutError(f"nothing for {APART_WAIT_SECONDS:.0f} s")
        part = os.read(source, min(left, 1 << 20))
        if not part:
            raise EOFError("the process ended")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


class PeopleStep:
    """The people part of one run."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.reading = Reading(
            run_id=ctx.run_id,
            version=ctx.version,
            first=ctx.first,
            salt=salt_of(ctx),
            schools=ctx.schools,
            district_refs=ctx.district_refs,
            twice=_claimed_twice(ctx),
            contested=_contested(ctx),
            skipped=set(
                ctx.session.scalars(
                    select(StageSkipped.sourced_id).where(
                        StageSkipped.run_id == ctx.run_id, StageSkipped.file == "users.csv"
                    )
                )
            ),
        )
        self.keys = KeyWriter(ctx)
        # The `sis_print` of each record of the chunk at hand, by SIS id.
        self.prints: dict[str, str | None] = {}

    def run(self) -> None:
        ctx = self.ctx
        for kind in ("student", "educator"):
            ctx.active_before[kind] = self._active(kind)
        self._settle()
        # A first full run into empty tables looks nobody up while it creates people: their
        # indexes are built once it has (store/bulk.py).
        filled = (_P, table_of(PersonSchool)) if ctx.first and ctx.full else ()
        with indexes_built_after(ctx.session, *filled):
            for number, prepared in enumerate(self._prepared(), start=1):
                self._apply(prepared)
                if doubled(number):
                    # The tables grow as the run creates people: keep PostgreSQL's estimates
                    # current, or its key lookups turn into scans of the whole organization.
                    analyze(ctx, Person, PersonSchool)
        self._protect_skipped()
        if ctx.full:
            # Also for the requests after the run: with its statistics missing (autovacuum
            # off, or not yet round) PostgreSQL read every row of person_schools for the 50
            # people of each page.
            analyze(ctx, Person, PersonSchool, ProductSetting, SyncKey)
            if not ctx.first:
                # A first run created every `sis` person there is, each with its key: nobody
                # can be absent (the search for them was 9 s of a first sync of 1,000,000).
                self._deactivate_absent()
        elif ctx.gone is not None:
            deactivate_absent(ctx, _P, key_kind="person", kind=_P.c.kind, among=ctx.gone["person"])

    def _settle(self) -> None:
        """The unchanged people, recognised in one join (sync/settle.py)."""
        settled: dict[str, int] = defaultdict(int)
        reading = self.reading
        for sourced_id, name_key, identifier, person_id, kind in settled_people(
            self.ctx, reading.salt
        ):
            if (
                person_id in reading.contested
                or sourced_id in reading.skipped
                or name_key in reading.twice["username"]
                or (identifier and identifier in reading.twice["alt_external_id"])
            ):
                continue  # R9: the full path reports it
            self.keys.add("person", sourced_id, person_id, "applied")
            settled[kind] += 1
        self.keys.flush()
        # The next reads skip the keys just written: PostgreSQL must know there are many.
        analyze(self.ctx, SyncKey)
        for kind, n in settled.items():
            self.ctx.bump(kind, "unchanged", n)

    def _active(self, kind: str) -> int:
        return active_sis(self.ctx, _P, _P.c.kind == kind)

    def _prepared(self) -> Iterator[Prepared]:
        """The unsettled staged users, a chunk at a time, worked out. An organization's first
        full run of many chunks has most of them worked out in another process, on another
        core, while this one writes the last and works out some itself (`HERE_FIRST`,
        `HERE_EVERY`); if that process fails, the rest are worked out here."""
        ctx, reading = self.ctx, self.reading
        chunks = list(parts(unsettled_lines(ctx, StageUser, "person"), CHUNK))
        here = Preparer(ctx.session, reading, ctx)

        def in_place(lines: Sequence[int]) -> Prepared:
            return here.prepare(staged_rows(ctx.session, StageUser, ctx.run_id, lines))

        done = 0
        # Only where every staged row was committed before this transaction began, which a
        # run read by its changes cannot say (it stages a few lines within it: `ctx.gone`).
        whole = ctx.full and ctx.gone is None
        if ctx.first and whole and len(chunks) >= APART_CHUNKS and os.name == "posix":
            mine = [
                number < HERE_FIRST or number % HERE_EVERY == HERE_EVERY - 1
                for number in range(len(chunks))
            ]
            try:
                apart = _Apart(
                    ctx.session, reading, [c for c, m in zip(chunks, mine, strict=True) if not m]
                )
            except Exception as error:  # no process to be had: all of them here
                log.warning("run %s works out its people in place: %r", ctx.run_id, error)
            else:
                try:
                    received = iter(apart)
                    for chunk, by_me in zip(chunks, mine, strict=True):
                        yield in_place(chunk) if by_me else next(received)
                        done += 1
                except _Lost as lost:
                    log.warning("run %s works out its people in place: %s", ctx.run_id, lost)
                finally:
                    apart.stop()
        for part in chunks[done:]:
            yield in_place(part)

    def _apply(self, prepared: Prepared) -> None:
        """Write what a chunk makes: its held rows and conflicts, then its new people, then
        its matched ones."""
        ctx = self.ctx
        self.prints = prepared.prints
        for outcome in prepared.early:
            if outcome[0] == "ignored":
                ctx.counts["not_imported"] += 1
                self.keys.add("person", outcome[1], None, "ignored")
            elif outcome[0] == "held":
                record_issue(ctx, outcome[2])
                self.keys.add("person", outcome[1], None, "held")
            else:
                self._conflict(
                    outcome[1], "external_id", [], "another row of users.csv has this sourcedId"
                )
        creates: list[tuple[Incoming, dict[str, Any], dict[str, Any]]] = []
        matched: list[tuple[Incoming, Row[Any]]] = []
        for outcome in prepared.decided:
            if outcome[0] == "conflict":
                self._conflict(*outcome[1:])
            elif outcome[0] == "create":
                creates.append(outcome[1:])
            else:
                matched.append(outcome[1:])
        self._create(creates)
        self._update(matched)
        self.keys.flush()

    def _conflict(
        self, record: Incoming, key: Key | None, candidates: Sequence[int], message: str
    ) -> None:
        value = {
            "username": record.values["username"],
            "external_id": record.sourced_id,
            "alt_external_id": record.values.get("alt_external_id"),
        }.get(key or "")
        record_conflict(
            self.ctx,
            self.keys,
            record,
            file="users.csv",
            key=key,
            value=value,
            candidates=list(candidates),
            message=message,
        )

    def _create(self, creates: list[tuple[Incoming, dict[str, Any], dict[str, Any]]]) -> None:
        if not creates:
            return
        ctx = self.ctx
        now = utcnow()
        ids = ids_of_new(ctx.session, _P, [row for _, row, _ in creates], new_sis_entity(ctx, now))
        schools, settings = [], []
        for (record, _, first_entry), person_id in zip(creates, ids, strict=True):
            schools += [
                {"person_id": person_id, "school_id": s, "org_id": ctx.org.id}
                for s in record.values["school_ids"]
            ]
            settings += [(person_id, p, s, v) for (p, s), v in record.settings.items()]
            ctx.bump(record.kind, "created")
            ctx.counts["product_settings_changed"] += len(record.settings)
            ctx.log.add(record.kind, person_id, "created", ref=record.sourced_id, new=first_entry)
            self.keys.add("person", record.sourced_id, person_id, "applied")
        if schools:
            bulk_insert_dicts(ctx.session, table_of(PersonSchool), schools)
        if settings:
            bulk_insert(
                ctx.session,
                table_of(ProductSetting),
                ["person_id", "product", "setting", "value"],
                settings,
                constants={
                    "org_id": ctx.org.id,
                    "source": "sis",
                    "sis_sends": True,
                    "updated_at": now,
                },
            )

    def _update(self, matched: list[tuple[Incoming, Row[Any]]]) -> None:
        ctx = self.ctx
        todo: list[tuple[Incoming, Row[Any]]] = []
        digests = {}
        reprinted: list[dict[str, Any]] = []
        edited = settings_edited_by_hand(ctx, [row.id for _, row in matched])
        for record, row in matched:
            digest = record.digest()
            digests[row.id] = digest
            self.keys.add("person", record.sourced_id, row.id, "applied")
            untouched = (
                row.version == row.synced_version
                and row.sis_hash == digest
                and row.id not in edited
            )
            leave = record.tobedeleted and (row.origin == "manual" or row.status == "inactive")
            if leave or (row.origin == "sis" and untouched and not record.tobedeleted):
                # R5: a delete of the SIS never reaches a manual entity.
                ctx.bump(record.kind, "unchanged")
                printed = self.prints[record.sourced_id]
                if not leave and row.sis_print != printed:
                    reprinted.append({"i": row.id, "v": row.version, "p": printed})
            else:
                todo.append((record, row))
        if reprinted:
            reprint(ctx, reprinted)
        if todo:
            PersonUpdater(ctx, todo, digests, self.prints).run()

    def _protect_skipped(self) -> None:
        """R22: the entity of a record skipped for an input error is not deactivated, whether
        the row was refused while reading or while planning (unknown school, no usable role)."""
        ctx = self.ctx
        ids = ctx.session.scalars(
            select(_P.c.id).where(
                _P.c.org_id == ctx.org.id, _P.c.external_id.in_(skipped_refs(ctx, "users.csv"))
            )
        ).all()
        for person_id in ids:
            self.keys.protect("person", person_id)
        self.keys.flush()

    def _deactivate_absent(self) -> None:
        """R19: a `sis` person absent from a full snapshot is deactivated, never deleted."""
        deactivate_absent(self.ctx, _P, key_kind="person", kind=_P.c.kind)


def _person_row(record: Incoming, printed: str | None) -> dict[str, Any]:
    """What varies between the rows of new people (`PeopleStep._create` adds the rest)."""
    values = {c: record.values.get(c) for c in COLUMNS}
    sent = [k for k, v in record.values.items() if v not in (None, "", [])]
    return {
        **values,
        **derived(record.values),
        "kind": record.kind,
        "sis_hash": record.digest(),
        "sis_print": printed,
        "sis_mask": mask_of(record.kind, sent),
    }
