"""A full snapshot read by the lines that changed since the organization's last applied run.

A district's snapshot changes by about one line in a hundred a day, and a run that stages
and compares every line spends nearly all its time finding that nothing changed. When the
last applied run left a copy of its files (sync/copies.py) and nothing was edited by hand
since, this run compares each file with that copy (sync/linediff.py) and stages only:

- the lines that are new or changed, and the first lines of each file (those the reading
  checks look at for the whole file, such as the dates);
- the users.csv line of each `sis` person edited by hand since the last run (R17);
- in OneRoster 1.2, every roles.csv line of each user it stages, and the users.csv line of
  each user whose roles changed;
- for each enrollment line that left, a `tobedeleted` row of it.

The steps then run as for a delta, and the SIS ids whose users.csv lines left are
deactivated as absent (R19). The result must be the one the whole snapshot would give, and
the shortcut is taken only where that is sure; anything that could make a difference sends
the run back to reading the whole snapshot, in the same run:

- before: the copy is that of the last applied run, which was a full one; no hand change
  since that an entity's own lines cannot undo: edits of people's fields (but the keys a
  line is matched by) and of their product settings are undone by staging the users.csv
  and roles.csv lines of each person edited, as R17 wants even of an unchanged line, and a
  person made by hand without an SIS id is named by no unchanged line; any other hand
  change (a person made with an SIS id, deactivated or rekeyed, a class or its members or
  products changed by hand) reads the whole snapshot; the same rules, catalogue and
  OneRoster version; the same files with the same headers; no quoted field spanning lines;
  orgs.csv, resources.csv and classResources.csv unchanged; no class gone; no SIS id twice
  in users.csv or classes.csv; no roles.csv line of a user who left, and a role for each user
  staged;
- when the transaction that applies the run begins: the lines of the people edited by hand
  after the lines were chosen are staged there (`catch_up`); another hand change reads the
  whole snapshot;
- after the steps, before committing: no issue and no conflict of any kind (R9, R22); each
  users.csv and classes.csv line one entity, and each enrollments.csv line one membership,
  as at the last run (so that no unchanged line names a user who left, and no new line a
  membership an unchanged one makes); nobody who left still a member; not held by the
  safety threshold (R20).

The counts of the report are the whole snapshot's: the unchanged entities are those of the
last run that no staged or removed line names.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import compress
from typing import NamedTuple

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from rollbook.domain.catalogue import Catalogue
from rollbook.domain.matching import KEYS
from rollbook.store.bulk import any_of, bulk_insert_dicts, parts
from rollbook.store.db import Database
from rollbook.store.models import Change, Class, Membership, Person, table_of
from rollbook.store.sync_tables import StageEnrollment, SyncKey, SyncRun
from rollbook.sync.columns import FILE_KEYS, FileKey
from rollbook.sync.context import FINDINGS, PLURAL, RunContext
from rollbook.sync.copies import Kept
from rollbook.sync.fingerprint import RULES_VERSION
from rollbook.sync.forked import Forked, Later
from rollbook.sync.linediff import diff_lines, header_and_body, one_line_records
from rollbook.sync.noop import hand_changes_since
from rollbook.sync.parse import Snapshot
from rollbook.sync.rowcheck import DATE_SAMPLE
from rollbook.sync.stage import stage_within

log = logging.getLogger("rollbook.sync")
# Files that must be byte for byte the copy's: what every other line is read against.
_SAME = ("orgs", "resources", "classResources")
# Files read by their changed lines.
_DIFFED = ("users", "roles", "classes", "enrollments")
# Beyond this share of changed lines a file is cheaper to read whole.
MAX_CHANGED = 0.2
_IN = 5000
# What the csv module reads otherwise than a split at commas.
_SPECIAL = re.compile('["\r\n\0]')


class Refused(Exception):
    """Why this run reads its whole snapshot."""


# The hand changes whose undoing (R11, R16, R17) a person's own users.csv and roles.csv lines
# decide: edits of a person's fields and of their product settings.
_PEOPLE = ("student", "educator")
_PERSON_EDITS = ("updated", "setting_changed")


def hand_edited_people(session: Session, org_id: int, since: datetime) -> set[int]:
    """The people edited by hand since a run began applying (as noop.edited_since sees
    them); Refused when a hand change since then is one their lines cannot undo.

    A person made by hand without an SIS id is no such change: no unchanged line can name
    them (usernames are unique, R10), and the new lines that could adopt them are staged."""
    edited: set[int] = set()
    made: set[int] = set()
    rows = session.execute(
        select(Change.entity_kind, Change.entity_id, Change.action, Change.field).where(
            hand_changes_since(org_id, since)
        )
    )
    for kind, entity_id, action, name in rows:
        if kind in _PEOPLE and action == "created" and entity_id is not None:
            made.add(entity_id)
        elif kind not in _PEOPLE or action not in _PERSON_EDITS or name in KEYS:
            raise Refused(f"the roster was changed by hand since the last run ({kind} {action})")
        elif entity_id is not None:
            edited.add(entity_id)
    person = table_of(Person)
    for part in parts(sorted(made), _IN):
        keyed = select(person.c.id).where(
            any_of(session, person.c.id, part),
            or_(
                func.coalesce(person.c.external_id, "") != "",
                func.coalesce(person.c.alt_external_id, "") != "",
            ),
        )
        if session.scalars(keyed.limit(1)).first() is not None:
            raise Refused("a person with an SIS id was made by hand since the last run")
    return edited | made


def salt(catalogue: Catalogue, version: str) -> str:
    """What turns the same lines into other values: a change reads every line again."""
    digest = hashlib.sha256()
    for part in (RULES_VERSION, repr(catalogue.products), version):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _cells(text: bytes) -> list[str]:
    """One line's CSV cells, read as sync/csvread.py reads them."""
    try:
        decoded = text.decode()
    except UnicodeDecodeError:
        raise Refused("a changed line is not UTF-8") from None
    if decoded and not _SPECIAL.search(decoded):
        # Nothing quoted, no line break or NUL: the cells are what lies between commas.
        return decoded.split(",")
    return next(csv.reader([decoded + "\n"], strict=False), [])


def _column(lines: list[bytes], index: int, *, quoted: bool = True) -> list[str]:
    """One column of every line, stripped (sync/rowcheck.py strips ids); `quoted` False when
    the caller knows no line holds a quote (a file's bytes searched once, in C)."""
    if not quoted or not any(b'"' in text for text in lines):
        # No quoting anywhere: the cell is between commas (a short line is read below).
        try:
            return [
                cell.decode().strip() for cell in (t.split(b",", index + 1)[index] for t in lines)
            ]
        except IndexError:
            pass
        except UnicodeDecodeError:
            raise Refused("a line is not UTF-8") from None
    found = []
    for text in lines:
        if b'"' in text:
            cells = _cells(text)
            found.append(cells[index].strip() if index < len(cells) else "")
        else:
            cells_b = text.split(b",", index + 1)
            value = cells_b[index] if index < len(cells_b) else b""
            try:
                found.append(value.decode().strip())
            except UnicodeDecodeError:
                raise Refused("a line is not UTF-8") from None
    return found


def _named(lines: list[bytes], index: int, file: str) -> set[str]:
    """The values of one column of changed lines, each line holding one."""
    found = _column(lines, index)
    if "" in found:
        raise Refused(f"a changed line of {file} has too few cells")
    return set(found)


def _ids(lines: list[bytes], index: int, file: str, *, quoted: bool) -> tuple[list[str], set[str]]:
    """The sourcedId of each line, and the set of them; Refused if one is missing or twice
    (the reading reports those, and the unchanged lines are not read)."""
    sids = _column(lines, index, quoted=quoted)
    # Counted as sets, in C (a million users.csv lines: a loop over them took 0.4 s); blank
    # lines (every cell empty) are let through, as the reading skips them.
    distinct = set(sids)
    blanks = sids.count("") if "" in distinct else 0
    if len(distinct) + max(blanks - 1, 0) != len(sids):
        raise Refused(f"a sourcedId is in {file} twice")
    if blanks and any(
        any(cell.strip() for cell in _cells(text))
        for text, sid in zip(lines, sids, strict=True)
        if not sid
    ):
        raise Refused(f"a line of {file} has no sourcedId")
    return sids, distinct


def _positions(values: list[str], wanted: set[str]) -> Iterator[int]:
    """The positions of the `wanted` values, by a loop that runs in C (a million lines)."""
    return compress(range(len(values)), map(wanted.__contains__, values))


def _line_numbers(sids: list[str], wanted: set[str]) -> dict[str, int]:
    """The line number of each of the `wanted` SIS ids among a file's (`sids`, in line order,
    the first on line 2); looked for only when some are wanted."""
    if not wanted:
        return {}
    return {sids[n]: n + 2 for n in _positions(sids, wanted)}


def _body_lines(data: bytes, body: int) -> list[bytes]:
    lines = data[body:].split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


@dataclass
class Quick:
    """What a run stages from its changed lines, and what it checks before committing."""

    kept: Kept
    only: dict[str, list[tuple[int, list[str]]]] = field(default_factory=dict)
    gone: dict[str, set[str]] = field(default_factory=lambda: {"person": set(), "class": set()})
    removed_enrollments: list[tuple[str, str, str]] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)
    # SIS ids the last run resolved whose lines are staged or left: their old kinds leave the
    # unchanged count.
    named_people: set[str] = field(default_factory=set)
    named_classes: set[str] = field(default_factory=set)
    old_kinds: Counter[str] = field(default_factory=Counter)
    changed: dict[str, int] = field(default_factory=dict)
    # When the last run began applying, and the people edited by hand since then (their
    # lines are staged); another hand change before the run commits sends it back.
    since: datetime | None = None
    edited_ids: set[int] = field(default_factory=set)
    # The SIS ids whose users.csv lines are staged, and the snapshot they were read from.
    staged_people: set[str] = field(default_factory=set)
    snapshot: Snapshot | None = None
    # The share of a file's lines beyond which it is read whole.
    most: float = MAX_CHANGED

    # ---- before the run -------------------------------------------------------------

    @classmethod
    def plan(
        cls,
        session: Session,
        run: SyncRun,
        snapshot: Snapshot,
        kept: Kept,
        catalogue: Catalogue,
        *,
        most: float = MAX_CHANGED,
    ) -> Quick:
        """The lines to stage; Refused when the whole snapshot must be read."""
        label = kept.label
        if not kept.whole():
            raise Refused("the copy of the last snapshot is damaged")
        last = session.get(SyncRun, kept.run_id)
        if (
            last is None
            or last.org_id != run.org_id
            or last.status != "applied"
            or last.dry_run
            or last.mode != "full"
            or last.snapshot_hash != label.get("snapshot_hash")
            or last.apply_started_at is None
        ):
            raise Refused("the copy is not of the organization's last applied run")
        newer = session.scalar(
            select(func.count()).where(
                SyncRun.org_id == run.org_id,
                SyncRun.status == "applied",
                SyncRun.id != last.id,
                SyncRun.apply_started_at > last.apply_started_at,
            )
        )
        if newer:
            raise Refused("a later run applied since the copy")
        edited_ids = hand_edited_people(session, run.org_id, last.apply_started_at)
        if snapshot.mode != "full" or any(mode == "delta" for mode in snapshot.files.values()):
            raise Refused("the snapshot is not a full one")
        if label.get("salt") != salt(catalogue, snapshot.version):
            raise Refused("the catalogue, the rules or the OneRoster version changed")
        keys = {k for k in (*_SAME, *_DIFFED) if snapshot.stored_name(k)}  # type: ignore[arg-type]
        if keys != set(label.get("files", {})):
            raise Refused("the snapshot sends other files than the last one")
        quick = cls(
            kept, since=last.apply_started_at, edited_ids=edited_ids, snapshot=snapshot, most=most
        )
        quick._read(snapshot, _sis_ids(session, run.org_id, edited_ids))
        quick.old_kinds = quick._kinds(session, run.org_id, quick.named_people)
        return quick

    def _pair(self, snapshot: Snapshot, key: str) -> tuple[bytes, bytes] | None:
        name = snapshot.stored_name(key)  # type: ignore[arg-type]
        path = self.kept.file(key)
        if name is None or path is None:
            return None
        with snapshot.source.open(name) as stream:
            new = stream.read()
        try:
            old = path.read_bytes()
        except OSError:
            raise Refused(f"the copy of {key}.csv cannot be read") from None
        return old, new

    def _read(self, snapshot: Snapshot, edited: set[str]) -> None:
        for key in _SAME:
            pair = self._pair(snapshot, key)
            if pair is not None and pair[0] != pair[1]:
                raise Refused(f"{key}.csv changed")
        self.only["classResources"] = []
        # enrollments.csv, the largest file, and roles.csv are compared on the other core
        # while users.csv and classes.csv are compared here, each file's two versions in
        # memory at a time on each side; the roles to stage depend on the users staged,
        # handed over once they are known.
        people: Later[tuple[set[str], set[str]] | None] = Later()
        elsewhere = Forked(self._elsewhere, snapshot, people)
        try:
            users = self._diffed(snapshot, "users")
            sids, lines = self._users(users, edited)
            people.put(None if users is None else (self.staged_people, self.gone["person"]))
            self._classes(self._diffed(snapshot, "classes"))
        except BaseException:
            elsewhere.cancel()
            people.close()
            raise
        found = elsewhere.result()
        self._take_enrollments(found.enrollments)
        if users is not None:
            self._take_roles(found.roles, users, sids, lines)
            self.only["users"] = _records(users.picked)

    def _diffed(self, snapshot: Snapshot, key: FileKey) -> _File | None:
        pair = self._pair(snapshot, key)
        layout = snapshot.layout(key)
        if pair is None or layout is None:
            return None
        old, new = pair
        old_header, old_body = header_and_body(old)
        new_header, new_body = header_and_body(new)
        if old_header != new_header:
            raise Refused(f"the header of {key}.csv changed")
        if not (one_line_records(old) and one_line_records(new)):
            raise Refused(f"a quoted field of {key}.csv spans lines")
        diff = diff_lines(old, new, old_body=old_body, new_body=new_body)
        self.lines[key] = diff.lines
        changed = len(diff.added) + len(diff.removed)
        self.changed[key] = changed
        if changed > self.most * max(diff.lines, 1):
            raise Refused(f"{key}.csv changed too much to read by its changes")
        found = _File(key, layout.index, new, new_body)
        # The first lines too: the checks made once per file look at them (dates).
        first = _body_lines(new[: _prefix_end(new, new_body, DATE_SAMPLE)], new_body)
        picked = {n: text for n, text in enumerate(first, start=2) if text.strip()}
        picked.update(diff.added)
        found.picked = picked
        found.removed = diff.removed
        found.added = dict(diff.added)
        return found

    def _users(self, users: _File | None, edited: set[str]) -> tuple[list[str], list[bytes]]:
        """The people whose users.csv lines are staged; the SIS id of each line, and the
        lines."""
        if users is None:
            if edited:
                raise Refused("people were edited by hand and users.csv is not sent")
            return [], []
        lines = users.all_lines()
        column = users.index["sourcedId"]
        sids, sent = _ids(lines, column, "users.csv", quoted=users.quoted())
        sent.discard("")  # blank lines
        removed = _named(users.removed, column, "users.csv")
        self.gone["person"] = removed - sent
        # The people edited by hand whose lines are still sent (R17): as if changed.
        for n in _line_numbers(sids, edited & sent).values():
            users.picked[n] = lines[n - 2]
        staged = {sids[n - 2] for n in users.picked}
        self.staged_people = staged
        self.named_people = removed | (staged - {sids[n - 2] for n in users.added})
        return sids, lines

    def _elsewhere(
        self, snapshot: Snapshot, people: Later[tuple[set[str], set[str]] | None]
    ) -> _Elsewhere:
        """What enrollments.csv and roles.csv changed (computed in a child process: returned,
        not kept); the roles once the users staged and gone are known (`people`)."""
        enrollments = self._enrollments(snapshot)
        refused: Refused | None = None
        try:
            roles = self._diffed(snapshot, "roles")
            if roles is not None:
                # Read before the users are known (the longest part of the parent's work).
                role_lines = roles.all_lines()
                owner = roles.index["userSourcedId"]
                owners = _column(role_lines, owner, quoted=roles.quoted())
        except Refused as why:
            roles, refused = None, why
        known = people.get()
        if known is None:  # no users.csv: its roles are not read
            return _Elsewhere(enrollments, None)
        if refused is not None:
            raise refused
        if roles is None:
            return _Elsewhere(enrollments, None)
        staged, gone = known
        # Users whose roles changed, and those of the first lines read for their checks.
        touched = _named([*roles.removed, *roles.picked.values()], owner, "roles.csv")
        wanted = staged | (touched - gone)
        if not gone.isdisjoint(owners):
            raise Refused("a roles.csv line names a user who left users.csv")
        # The lines of the wanted users.
        chosen = {n + 2: role_lines[n] for n in _positions(owners, wanted)}
        with_role = {owners[n - 2] for n in chosen}
        if wanted - with_role:
            raise Refused("a user to read has no roles.csv line")
        found = _Roles(
            self.lines["roles"], self.changed["roles"], _records(chosen), wanted - staged
        )
        return _Elsewhere(enrollments, found)

    def _take_roles(
        self, found: _Roles | None, users: _File, sids: list[str], lines: list[bytes]
    ) -> None:
        if found is None:
            return
        self.lines["roles"] = found.lines
        self.changed["roles"] = found.changed
        # Users whose roles changed and whose users.csv lines did not: staged too.
        line_of = _line_numbers(sids, found.more)
        if len(line_of) != len(found.more):
            raise Refused("a roles.csv line names a user users.csv does not hold")
        for sid, n in line_of.items():
            users.picked[n] = lines[n - 2]
            self.named_people.add(sid)
        self.only["roles"] = found.picked

    def _classes(self, classes: _File | None) -> None:
        if classes is None:
            return
        lines = classes.all_lines()
        column = classes.index["sourcedId"]
        sids, sent = _ids(lines, column, "classes.csv", quoted=classes.quoted())
        removed = _named(classes.removed, column, "classes.csv")
        if removed - sent:
            raise Refused("a class left classes.csv")
        staged = {sids[n - 2] for n in classes.picked}
        self.named_classes = removed | (staged - {sids[n - 2] for n in classes.added})
        self.only["classes"] = _records(classes.picked)

    def _enrollments(self, snapshot: Snapshot) -> _Enrollments | None:
        """What enrollments.csv changed (computed in a child process: returned, not kept)."""
        found = self._diffed(snapshot, "enrollments")
        if found is None:
            return None
        index = found.index
        removed = []
        for text in found.removed:
            cells = _cells(text)
            try:
                removed.append(
                    (
                        cells[index["classSourcedId"]].strip(),
                        cells[index["userSourcedId"]].strip(),
                        cells[index["role"]].strip(),
                    )
                )
            except IndexError:
                raise Refused("a line that left enrollments.csv cannot be read") from None
        return _Enrollments(
            self.lines["enrollments"], self.changed["enrollments"], removed, _records(found.picked)
        )

    def _take_enrollments(self, found: _Enrollments | None) -> None:
        if found is None:
            return
        self.lines["enrollments"] = found.lines
        self.changed["enrollments"] = found.changed
        self.removed_enrollments = found.removed
        self.only["enrollments"] = found.picked

    def _kinds(self, session: Session, org_id: int, named: set[str]) -> Counter[str]:
        """The kinds, as the last run left them, of people whose lines are staged or left."""
        kinds: Counter[str] = Counter()
        person = table_of(Person)
        for part in parts(sorted(named), _IN):
            query = select(person.c.kind).where(
                person.c.org_id == org_id,
                any_of(session, person.c.external_id, part),
                person.c.origin == "sis",
            )
            kinds.update(PLURAL[kind] for kind in session.scalars(query))
        return kinds

    def stage_removed(self, db: Database, run_id: int) -> None:
        """The enrollment lines that left, as the `tobedeleted` rows of a delta."""
        rows = [
            {
                "run_id": run_id,
                "line": -(n + 1),
                "class_sourced_id": klass,
                "user_sourced_id": user,
                "role": role,
                "status": "tobedeleted",
            }
            for n, (klass, user, role) in enumerate(self.removed_enrollments)
        ]
        for part in parts(rows, 5000):
            with db.writing() as session:
                bulk_insert_dicts(session, table_of(StageEnrollment), part)

    # ---- after the steps ------------------------------------------------------------

    def catch_up(self, session: Session, *, run_id: int, org_id: int) -> bool:
        """Seen from inside the transaction that applies the run: True when its staged lines
        cover every hand change so far, after staging, within it, the lines of the people
        edited by hand since they were chosen (R17: such an edit is undone as reading the
        whole snapshot would undo it); False when the whole snapshot must be read."""
        assert self.since is not None and self.snapshot is not None
        try:
            edited = hand_edited_people(session, org_id, self.since)
        except Refused:
            return False
        late = edited - self.edited_ids
        if not late:
            return True
        self.edited_ids |= late
        sids = _sis_ids(session, org_id, late) - self.gone["person"] - self.staged_people
        if not sids:
            return True
        users = self._lines_naming("users", "sourcedId", sids)
        if users is None:
            return False
        only: dict[str, list[tuple[int, list[str]]]] = {key: [] for key in FILE_KEYS}
        only["users"] = _records(users)
        named = {cells[self._index("users", "sourcedId")].strip() for _, cells in only["users"]}
        if len(named) != len(users):
            return False
        if self.snapshot.layout("roles") is not None:
            roles = self._lines_naming("roles", "userSourcedId", named)
            only["roles"] = _records(roles or {})
            owner = self._index("roles", "userSourcedId")
            if {cells[owner].strip() for _, cells in only["roles"]} != named:
                return False  # a user to read has no roles.csv line
        staged = stage_within(session, self.snapshot.restricted(only), run_id=run_id, org_id=org_id)
        if staged.errors or staged.warnings:
            return False  # the whole snapshot's reading may differ: read it
        new = named - self.named_people
        self.staged_people |= named
        self.named_people |= named
        self.old_kinds.update(self._kinds(session, org_id, new))
        return True

    def _index(self, key: FileKey, column: str) -> int:
        assert self.snapshot is not None
        layout = self.snapshot.layout(key)
        assert layout is not None
        return layout.index[column]

    def _lines_naming(self, key: FileKey, column: str, values: set[str]) -> dict[int, bytes] | None:
        """The lines of one of the snapshot's files whose `column` holds one of `values`, by
        line number; None when the snapshot has no such file."""
        assert self.snapshot is not None
        name = self.snapshot.stored_name(key)
        if name is None or self.snapshot.layout(key) is None:
            return None
        with self.snapshot.source.open(name) as stream:
            data = stream.read()
        body = header_and_body(data)[1]
        lines = _body_lines(data, body)
        cells = _column(lines, self._index(key, column), quoted=_quoted(data, body))
        return {
            n: text
            for n, (text, value) in enumerate(zip(lines, cells, strict=True), start=2)
            if value in values
        }

    def check(self, ctx: RunContext, staged_issues: int) -> str | None:
        """Why the result may differ from the whole snapshot's (None: it is the same); on
        None the counts are made the whole snapshot's."""
        counts = ctx.counts
        if staged_issues or any(counts[k] for k in FINDINGS):
            return "the changed lines hold an issue or a conflict"
        records = self._records(ctx)
        label = self.kept.label
        people = sum(records[PLURAL[k]] for k in ("student", "educator"))
        if "users" in self.lines and people != self.lines["users"]:
            return "a users.csv line is not one person"
        if "classes" in self.lines and records["classes"] != self.lines["classes"]:
            return "a classes.csv line is not one class"
        if "enrollments" in self.lines:
            members = (
                int(label.get("members", -1))
                + counts["enrollments"]["added"]
                - counts["enrollments"]["removed"]
            )
            if members != self.lines["enrollments"]:
                return "an enrollments.csv line is not one membership"
            if self._gone_members(ctx):
                return "a user who left is still named by an enrollment"
        absent = {PLURAL[kind]: n for kind, n in ctx.absent.items()}
        for plural, total in records.items():
            made = counts[plural]
            # Each entity a line names is counted once: created, adopted, updated,
            # reactivated, deactivated (by the line, not for being absent) or unchanged.
            made["unchanged"] = (
                total
                - sum(made[k] for k in ("created", "adopted", "updated", "reactivated"))
                - (made["deactivated"] - absent.get(plural, 0))
            )
        counts["records"] = records
        return None

    def _records(self, ctx: RunContext) -> dict[str, int]:
        """Entities the whole snapshot resolves, by kind: the last run's, less those named
        by a staged or removed line, plus those this run resolved."""
        last = dict(self.kept.label.get("records", {}))
        found = {plural: int(last.get(plural, 0)) for plural in PLURAL.values()}
        for plural, n in self.old_kinds.items():
            found[plural] -= n
        people = ctx.session.execute(
            select(Person.kind, func.count())
            .join(SyncKey, SyncKey.entity_id == Person.id)
            .where(
                SyncKey.run_id == ctx.run_id,
                SyncKey.kind == "person",
                SyncKey.state == "applied",
            )
            .group_by(Person.kind)
        )
        for kind, count in people:
            found[PLURAL[kind]] += int(count)
        classes = ctx.session.scalar(
            select(func.count()).where(
                SyncKey.run_id == ctx.run_id, SyncKey.kind == "class", SyncKey.state == "applied"
            )
        )
        found["classes"] += int(classes or 0) - len(self.named_classes)
        return found

    def _gone_members(self, ctx: RunContext) -> bool:
        for part in parts(sorted(self.gone["person"]), _IN):
            query = (
                select(func.count())
                .select_from(Membership)
                .join(Person, and_(Person.id == Membership.person_id))
                .join(Class, Class.id == Membership.class_id)
                .where(
                    Person.org_id == ctx.org.id,
                    any_of(ctx.session, Person.external_id, part),
                    Membership.source == "sis",
                    Class.origin == "sis",
                )
            )
            if ctx.session.scalar(query):
                return True
        return False


def _sis_ids(session: Session, org_id: int, ids: set[int]) -> set[str]:
    """The SIS ids of the `sis` people among `ids`."""
    person = table_of(Person)
    found: set[str] = set()
    for part in parts(sorted(ids), _IN):
        query = select(person.c.external_id).where(
            person.c.org_id == org_id,
            any_of(session, person.c.id, part),
            person.c.origin == "sis",
            person.c.external_id.is_not(None),
        )
        found.update(session.scalars(query))
    return found


class _Enrollments(NamedTuple):
    lines: int
    changed: int
    removed: list[tuple[str, str, str]]
    picked: list[tuple[int, list[str]]]


class _Roles(NamedTuple):
    lines: int
    changed: int
    picked: list[tuple[int, list[str]]]
    more: set[str]  # users to stage for their roles alone


class _Elsewhere(NamedTuple):
    enrollments: _Enrollments | None
    roles: _Roles | None


@dataclass
class _File:
    key: str
    index: dict[str, int]
    new: bytes
    body: int
    picked: dict[int, bytes] = field(default_factory=dict)
    removed: list[bytes] = field(default_factory=list)
    added: dict[int, bytes] = field(default_factory=dict)

    def all_lines(self) -> list[bytes]:
        return _body_lines(self.new, self.body)

    def quoted(self) -> bool:
        return _quoted(self.new, self.body)


def _quoted(data: bytes, body: int) -> bool:
    """Whether any line of a file's body holds a quote (one search of its bytes, in C)."""
    return data.find(b'"', body) >= 0


def _prefix_end(data: bytes, body: int, lines: int) -> int:
    position = body
    for _ in range(lines):
        end = data.find(b"\n", position)
        if end < 0:
            return len(data)
        position = end + 1
    return position


def _records(picked: dict[int, bytes]) -> list[tuple[int, list[str]]]:
    return [(n, _cells(picked[n])) for n in sorted(picked)]
