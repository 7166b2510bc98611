"""Classes of a run: matched on external id and class code (R6), adopted (R7), created,
updated (every Details field is locked, R13), deactivated and reactivated (R19).

Classes whose staged row is the one they were last synced from, with no hand edit since,
are settled first in one join (`sync/settle.py`); the rest are compared field by field.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, func, literal, select, union, update
from sqlalchemy.engine import Row

from rollbook.domain.fields import fields_of, mask_of
from rollbook.domain.matching import Key, match_record
from rollbook.domain.values import name_key
from rollbook.store.bulk import any_of
from rollbook.store.models import Class, table_of, utcnow
from rollbook.store.sync_tables import StageClass, SyncKey
from rollbook.sync.candidates import CandidateIndex
from rollbook.sync.context import RunContext
from rollbook.sync.fingerprint import entity_print
from rollbook.sync.incoming import Incoming, Skip, class_from
from rollbook.sync.reconcile import reconcile
from rollbook.sync.settle import salt_of, settled_classes, unsettled
from rollbook.sync.writes import (
    ConcurrentEdit,
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
CLASS_KEYS: dict[Key, str] = {"external_id": "external_id", "alt_external_id": "alt_external_id"}
_C = table_of(Class)
_COLUMNS = tuple(f.name for f in fields_of("class") if f.sis_may_send)


# The school id is logged as text, like every id the API shows.
_SHOWN = {"school_id": str}


class ClassesStep:
    """The classes part of one run."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.salt = salt_of(ctx)
        self.keys = KeyWriter(ctx)
        # The `sis_print` of each record of the chunk at hand, by SIS id; and those to store
        # on classes recognised unchanged by the full path.
        self.prints: dict[str, str | None] = {}
        self.reprinted: list[dict[str, Any]] = []
        self.codes_twice = set(
            ctx.session.scalars(
                select(StageClass.class_code)
                .where(StageClass.run_id == ctx.run_id, StageClass.class_code.is_not(None))
                .group_by(StageClass.class_code)
                .having(func.count() > 1)
            )
        )

    def _contested(self) -> set[int]:
        """R9: existing classes that two or more staged records point at (a class code handed
        from one class to another in one snapshot)."""
        ctx = self.ctx
        sc = table_of(StageClass)
        run, org = sc.c.run_id == ctx.run_id, _C.c.org_id == ctx.org.id
        pairs = union(
            select(_C.c.id, sc.c.line)
            .join(sc, sc.c.sourced_id == _C.c.external_id)
            .where(run, org),
            select(_C.c.id, sc.c.line)
            .join(sc, sc.c.class_code == _C.c.alt_external_id)
            .where(run, org, sc.c.class_code != ""),
        ).subquery()
        return set(
            ctx.session.scalars(
                select(pairs.c.id).group_by(pairs.c.id).having(func.count(pairs.c.line) > 1)
            )
        )

    def run(self) -> None:
        ctx = self.ctx
        self.contested = self._contested()
        ctx.active_before["class"] = active_sis(ctx, _C)
        self._settle()
        for number, chunk in enumerate(unsettled(ctx, StageClass, "class", CHUNK), start=1):
            self._chunk(chunk)
            if doubled(number):
                # The table grows as the run creates entities: keep PostgreSQL's estimates
                # current, or its key lookups turn into scans of the whole organization.
                analyze(ctx, Class)
        self._protect_skipped()
        if ctx.full:
            analyze(ctx, Class, SyncKey)
            self._deactivate_absent()

    def _settle(self) -> None:
        """The unchanged classes, recognised in one join (sync/settle.py)."""
        settled = 0
        for sourced_id, code, class_id in settled_classes(self.ctx, self.salt):
            if class_id in self.contested or code in self.codes_twice:
                continue  # R9: the full path reports it
            self.keys.add("class", sourced_id, class_id, "applied")
            settled += 1
        self.keys.flush()
        # The next reads skip the keys just written: PostgreSQL must know there are many.
        analyze(self.ctx, SyncKey)
        self.ctx.bump("class", "unchanged", settled)

    def _chunk(self, chunk: list[Row[Any]]) -> None:
        ctx = self.ctx
        self.prints = {r.sourced_id: entity_print(self.salt, r.row_hash, None) for r in chunk}
        records: list[Incoming] = []
        for row in chunk:
            made = class_from(row._mapping, schools=ctx.schools)
            if isinstance(made, Skip):
                if made.error is not None:
                    record_issue(ctx, made.error)
                self.keys.add("class", made.sourced_id, None, "held")
            else:
                records.append(made)
        externals = {r.sourced_id for r in records}
        codes = {r.values["alt_external_id"] for r in records if r.values["alt_external_id"]}
        # One indexed lookup per key: an OR across two columns makes SQLite scan the table.
        stored: dict[int, Any] = {}
        with planned_with_values(ctx.session):
            for column, values in (("external_id", externals), ("alt_external_id", codes)):
                if values:
                    query = select(_C).where(
                        _C.c.org_id == ctx.org.id, any_of(ctx.session, _C.c[column], values)
                    )
                    for row in ctx.session.execute(query):
                        stored[row.id] = row
        rows = list(stored.values())
        by_id = {row.id: row for row in rows}
        index = CandidateIndex(rows, CLASS_KEYS, kind_of="class")
        creates = []
        for record in records:
            code = record.values["alt_external_id"]
            found = index.found({"external_id": record.sourced_id, "alt_external_id": code})
            twice: list[Key] = ["alt_external_id"] if code in self.codes_twice else []
            match = match_record(
                kind="class", found=found, claimed_twice=twice, contested=self.contested
            )
            if match.outcome == "conflict":
                value = record.sourced_id if match.key == "external_id" else code
                record_conflict(
                    ctx,
                    self.keys,
                    record,
                    file="classes.csv",
                    key=match.key,
                    value=value,
                    candidates=match.candidates,
                    message=match.message,
                )
            elif match.outcome == "create":
                creates.append(record)
            else:
                self._update(record, by_id[match.entity_id])
        self._create(creates)
        self.keys.flush()
        if self.reprinted:
            # As for people: the fingerprint of an unchanged class, unless edited since.
            ctx.session.execute(
                update(_C)
                .where(_C.c.id == bindparam("i"), _C.c.version == bindparam("v"))
                .values(sis_print=bindparam("p")),
                self.reprinted,
            )
            self.reprinted = []

    def _create(self, records: list[Incoming]) -> None:
        if not records:
            return
        ctx = self.ctx
        now = utcnow()
        rows = []
        for record in records:
            sent = [k for k, v in record.values.items() if v not in (None, "", [])]
            rows.append(
                {
                    **{c: record.values[c] for c in _COLUMNS},
                    "name_key": name_key(record.values["name"]),
                    "sis_hash": record.digest(),
                    "sis_print": self.prints[record.sourced_id],
                    "sis_mask": mask_of("class", sent),
                }
            )
        ids = ids_of_new(ctx.session, _C, rows, new_sis_entity(ctx, now))
        for record, class_id in zip(records, ids, strict=True):
            ctx.bump("class", "created")
            ctx.log.add(
                "class", class_id, "created", ref=record.sourced_id, new=snapshot_of(record)
            )
            self.keys.add("class", record.sourced_id, class_id, "applied")

    def _update(self, record: Incoming, row: Row[Any]) -> None:
        ctx = self.ctx
        self.keys.add("class", record.sourced_id, row.id, "applied")
        digest = record.digest()
        if record.tobedeleted and (row.origin == "manual" or row.status == "inactive"):
            ctx.bump("class", "unchanged")
            return
        if row.origin == "sis" and row.version == row.synced_version and row.sis_hash == digest:
            ctx.bump("class", "unchanged")
            printed = self.prints[record.sourced_id]
            if row.sis_print != printed:
                self.reprinted.append({"i": row.id, "v": row.version, "p": printed})
            return
        current = {c: getattr(row, c) for c in _COLUMNS}
        done = reconcile("class", current=current, manual_mask=row.manual_mask, incoming=record)
        values = {**current, **done.writes}
        result = ctx.session.execute(
            update(_C)
            .where(and_(_C.c.id == row.id, _C.c.version == row.version))
            .values(
                **values,
                origin="sis",
                name_key=name_key(values["name"]),
                manual_mask=done.manual_mask,
                sis_mask=done.sis_mask,
                sis_hash=None if record.tobedeleted else digest,
                sis_print=None if record.tobedeleted else self.prints[record.sourced_id],
                version=row.version + 1,
                synced_version=row.version + 1,
                updated_at=utcnow(),
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentEdit(f"class {row.id} changed during the run")
        status = next((c for c in done.changes if c.field == "status"), None)
        if row.origin == "manual":
            ctx.bump("class", "adopted")
            ctx.log.add(
                "class",
                row.id,
                "adopted",
                ref=record.sourced_id,
                field_name="origin",
                old="manual",
                new="sis",
            )
        elif status is not None:
            ctx.bump("class", "reactivated" if status.new == "active" else "deactivated")
        else:
            ctx.bump("class", "updated" if done.changes else "unchanged")
        if status is not None and status.new == "inactive" and row.status == "active":
            ctx.deactivating["class"] = ctx.deactivating.get("class", 0) + 1
        ctx.log.field_changes("class", row.id, done.changes, ref=record.sourced_id, shown=_SHOWN)

    def _protect_skipped(self) -> None:
        """R22: the class of a record skipped for an input error is not deactivated."""
        ctx = self.ctx
        ids = ctx.session.scalars(
            select(_C.c.id).where(
                _C.c.org_id == ctx.org.id, _C.c.external_id.in_(skipped_refs(ctx, "classes.csv"))
            )
        ).all()
        for class_id in ids:
            self.keys.protect("class", class_id)
        self.keys.flush()

    def _deactivate_absent(self) -> None:
        """R19: a `sis` class absent from a full snapshot is deactivated, never deleted."""
        deactivate_absent(self.ctx, _C, key_kind="class", kind=literal("class"))
