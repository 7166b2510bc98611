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

from collections import defaultdict
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import func, select, union
from sqlalchemy.engine import Row

from rollbook.domain.fields import mask_of
from rollbook.domain.matching import Key, match_record
from rollbook.domain.values import username_key
from rollbook.store.bulk import any_of, bulk_insert, bulk_insert_dicts, indexes_built_after
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
from rollbook.sync.settle import salt_of, settled_people, unsettled
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

CHUNK = 1000
PERSON_KEYS: dict[Key, str] = {
    "username": "username_key",
    "external_id": "external_id",
    "alt_external_id": "alt_external_id",
}
_P = table_of(Person)


def _roles(
    ctx: RunContext, sourced_ids: list[str]
) -> tuple[dict[str, list[Role]], dict[str, tuple[int, int]]]:
    """The role rows of these users that count, and the sum and count of the fingerprints
    of all their role rows (as sync/settle.py adds them up)."""
    found: dict[str, list[Role]] = defaultdict(list)
    prints: dict[str, tuple[int, int]] = {}
    if ctx.version != "1.2":
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
    ).where(sr.c.run_id == ctx.run_id, any_of(ctx.session, sr.c.user_sourced_id, sourced_ids))
    with planned_with_values(ctx.session):
        # In file order, sorted here: asked of the database, SQLite walked the run's roles
        # in line order to spare the sort, all of them for each chunk of users (1,000
        # chunks of a million roles in a first sync of 1,000,000 students).
        rows = sorted(ctx.session.execute(query), key=itemgetter(4))
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


class PeopleStep:
    """The people part of one run."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.salt = salt_of(ctx)
        self.twice = _claimed_twice(ctx)
        self.contested = _contested(ctx)
        self.keys = KeyWriter(ctx)
        # The `sis_print` of each record of the chunk at hand, by SIS id.
        self.prints: dict[str, str | None] = {}
        # Sourced ids with a row skipped for an error; one staged row may share it (R9).
        self.skipped = set(
            ctx.session.scalars(
                select(StageSkipped.sourced_id).where(
                    StageSkipped.run_id == ctx.run_id, StageSkipped.file == "users.csv"
                )
            )
        )

    def run(self) -> None:
        ctx = self.ctx
        for kind in ("student", "educator"):
            ctx.active_before[kind] = self._active(kind)
        self._settle()
        # A first full run into empty tables looks nobody up while it creates people: their
        # indexes are built once it has (store/bulk.py).
        filled = (_P, table_of(PersonSchool)) if ctx.first and ctx.full else ()
        with indexes_built_after(ctx.session, *filled):
            for number, chunk in enumerate(unsettled(ctx, StageUser, "person", CHUNK), start=1):
                self._chunk(chunk)
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
        for sourced_id, name_key, identifier, person_id, kind in settled_people(
            self.ctx, self.salt
        ):
            if (
                person_id in self.contested
                or sourced_id in self.skipped
                or name_key in self.twice["username"]
                or (identifier and identifier in self.twice["alt_external_id"])
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

    def _chunk(self, chunk: list[Row[Any]]) -> None:
        ctx = self.ctx
        roles, role_prints = _roles(ctx, [r.sourced_id for r in chunk])
        stored = _standings(ctx, [r.sourced_id for r in chunk if r.sourced_id not in roles])
        records: list[Incoming] = []
        one_one = ctx.version == "1.1"
        self.prints = {
            r.sourced_id: entity_print(
                self.salt, r.row_hash, None if one_one else role_prints.get(r.sourced_id, (0, 0))
            )
            for r in chunk
        }
        for row in chunk:
            made = person_from(
                row._mapping,
                roles.get(row.sourced_id, []),
                version=ctx.version,  # type: ignore[arg-type]
                schools=ctx.schools,
                district_refs=ctx.district_refs,
                stored=stored.get(row.sourced_id),
            )
            if isinstance(made, Skip):
                if made.error is None:
                    ctx.counts["not_imported"] += 1
                    self.keys.add("person", made.sourced_id, None, "ignored")
                    continue
                record_issue(ctx, made.error)
                self.keys.add("person", made.sourced_id, None, "held")
                continue
            if made.sourced_id in self.skipped:
                self._conflict(
                    made, "external_id", [], "another row of users.csv has this sourcedId"
                )
                continue
            records.append(made)
        # A first sync: a record could only meet a person this run created from another record
        # sharing a key with it, and R9 holds both of those back (a sourcedId, username or
        # identifier two records carry), so there is nobody to look up (a tenth of a first
        # sync on PostgreSQL).
        rows = _candidates(ctx, records) if records and not ctx.first else []
        by_id = {row.id: row for row in rows}
        index = CandidateIndex(rows, PERSON_KEYS)
        creates: list[Incoming] = []
        matched: list[tuple[Incoming, Row[Any]]] = []
        for record in records:
            found = index.found(
                {
                    "username": username_key(record.values["username"]),
                    "external_id": record.sourced_id,
                    "alt_external_id": record.values.get("alt_external_id"),
                }
            )
            twice = [
                k
                for k, v in (
                    ("username", username_key(record.values["username"])),
                    ("alt_external_id", record.values.get("alt_external_id")),
                )
                if v and v in self.twice[k]  # type: ignore[index]
            ]
            match = match_record(
                kind=record.kind,
                found=found,
                claimed_twice=twice,  # type: ignore[arg-type]
                contested=self.contested,
            )
            if match.outcome == "conflict":
                self._conflict(record, match.key, match.candidates, match.message)
            elif match.outcome == "create":
                creates.append(record)
            else:
                matched.append((record, by_id[match.entity_id]))
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

    def _create(self, records: list[Incoming]) -> None:
        if not records:
            return
        ctx = self.ctx
        now = utcnow()
        rows = [_person_row(r, self.prints[r.sourced_id]) for r in records]
        ids = ids_of_new(ctx.session, _P, rows, new_sis_entity(ctx, now))
        schools, settings = [], []
        for record, person_id in zip(records, ids, strict=True):
            schools += [
                {"person_id": person_id, "school_id": s, "org_id": ctx.org.id}
                for s in record.values["school_ids"]
            ]
            settings += [(person_id, p, s, v) for (p, s), v in record.settings.items()]
            ctx.bump(record.kind, "created")
            ctx.counts["product_settings_changed"] += len(record.settings)
            ctx.log.add(
                record.kind, person_id, "created", ref=record.sourced_id, new=snapshot_of(record)
            )
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
