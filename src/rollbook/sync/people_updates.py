"""Matched people of a run whose fields must be compared (sync/people.py decides which):
load them, reconcile them field by field (R7, R11, R12, R16), write and record the outcome.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.engine import Row

from rollbook.domain.values import person_keys
from rollbook.store.bulk import any_of
from rollbook.store.models import Person, PersonSchool, ProductSetting, table_of, utcnow
from rollbook.sync.context import RunContext
from rollbook.sync.incoming import Incoming
from rollbook.sync.reconcile import Reconciled, reconcile
from rollbook.sync.writes import ConcurrentEdit

_P = table_of(Person)
# The person's columns a sync writes.
COLUMNS = (
    "status",
    "username",
    "external_id",
    "alt_external_id",
    "first_name",
    "last_name",
    "middle_name",
    "preferred_first_name",
    "grade",
    "email",
    "role",
    "admin_scope",
)


def reprint(ctx: RunContext, rows: list[dict[str, Any]]) -> None:
    """Store the fingerprint of the rows an unchanged person was recognised from (a new salt,
    or a person synced before fingerprints were kept), so that the next run settles it in
    SQL. A hand edit since the read moves `version`: then nothing is stored."""
    ctx.session.execute(
        update(_P)
        .where(_P.c.id == bindparam("i"), _P.c.version == bindparam("v"))
        .values(sis_print=bindparam("p")),
        rows,
    )


def settings_edited_by_hand(ctx: RunContext, ids: list[int]) -> set[int]:
    """R17: people with a hand edit of a setting the SIS sends. Such an edit does not move the
    person's `version`, so the unchanged-record shortcut must not skip them."""
    if not ids:
        return set()
    return set(
        ctx.session.scalars(
            select(ProductSetting.person_id)
            .where(
                any_of(ctx.session, ProductSetting.person_id, ids),
                ProductSetting.source == "manual",
                ProductSetting.sis_sends.is_(True),
            )
            .distinct()
        )
    )


def derived(values: dict[str, Any]) -> dict[str, str]:
    """The keys kept beside a person's names (R10 uniqueness, ordering, prefix search)."""
    return person_keys(
        username=values["username"], first_name=values["first_name"], last_name=values["last_name"]
    )


# School ids are logged as text, like every id the API shows.
_SHOWN = {"school_ids": lambda ids: [str(s) for s in ids or []]}


class PersonUpdater:
    """Matched people whose fields must be compared: load, reconcile, write, record."""

    def __init__(
        self,
        ctx: RunContext,
        todo: list[tuple[Incoming, Row[Any]]],
        digests: dict[int, str],
        prints: dict[str, str | None],
    ) -> None:
        self.ctx = ctx
        self.todo = todo
        self.digests = digests
        self.prints = prints

    def run(self) -> None:
        ctx = self.ctx
        ids = [row.id for _, row in self.todo]
        # Locked until the run commits (PostgreSQL; SQLite's run holds the write lock): a hand
        # edit landing between this read and the write would make the run start over, and
        # eight busy editors could make it fail (tests/integration/test_concurrency.py).
        locked = select(_P).where(any_of(ctx.session, _P.c.id, ids)).with_for_update(key_share=True)
        people = {p.id: p for p in ctx.session.execute(locked)}
        schools: dict[int, list[int]] = defaultdict(list)
        for person_id, school_id in ctx.session.execute(
            select(PersonSchool.person_id, PersonSchool.school_id).where(
                any_of(ctx.session, PersonSchool.person_id, ids)
            )
        ):
            schools[person_id].append(school_id)
        settings: dict[int, dict[tuple[str, str], tuple[Any, str, bool]]] = defaultdict(dict)
        for s in ctx.session.execute(
            select(table_of(ProductSetting)).where(
                any_of(ctx.session, ProductSetting.person_id, ids)
            )
        ):
            settings[s.person_id][(s.product, s.setting)] = (s.value, s.source, s.sis_sends)
        updates: list[dict[str, Any]] = []
        for record, row in self.todo:
            person = people[row.id]
            current = {c: getattr(person, c) for c in COLUMNS}
            current["school_ids"] = sorted(schools.get(row.id, []))
            done = reconcile(
                record.kind,
                current=current,
                manual_mask=person.manual_mask,
                incoming=record,
                settings=settings.get(row.id, {}) if record.kind == "student" else None,
            )
            updates.append(self._write(record, person, current, done))
        self._update(updates)

    def _update(self, updates: list[dict[str, Any]]) -> None:
        """The people's rows, one statement for all that set the same columns; each row only
        if nobody wrote it since it was read (its version), or the run starts over."""
        session = self.ctx.session
        statement = update(_P).where(
            _P.c.id == bindparam("_id"), _P.c.version == bindparam("_version")
        )
        batched = session.get_bind().dialect.supports_sane_multi_rowcount
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for values in updates:
            shapes[tuple(sorted(values))].append(values)
        for rows in shapes.values():
            for part in [rows] if batched else [[row] for row in rows]:
                result = session.execute(statement, part)
                written = result.rowcount  # type: ignore[attr-defined]
                if written != len(part):
                    raise ConcurrentEdit(f"{len(part) - written} people changed during the run")

    def _write(
        self, record: Incoming, person: Any, current: dict[str, Any], done: Reconciled
    ) -> dict[str, Any]:
        ctx = self.ctx
        adopted = person.origin == "manual"
        values = {**current, **done.writes}
        # Only the columns whose values change: each indexed column set rewrites its index
        # entries (seven indexes on people), even to the value it held.
        changes = {
            "manual_mask": done.manual_mask,
            "sis_mask": done.sis_mask,
            "sis_hash": None if record.tobedeleted else self.digests[person.id],
            "sis_print": None if record.tobedeleted else self.prints[record.sourced_id],
            "version": person.version + 1,
            "synced_version": person.version + 1,
            "updated_at": utcnow(),
            **{c: values[c] for c in COLUMNS if c in done.writes},
            **{k: v for k, v in derived(values).items() if getattr(person, k) != v},
        }
        if person.origin != "sis":
            changes["origin"] = "sis"
        if "school_ids" in done.writes:
            ctx.session.execute(
                table_of(PersonSchool).delete().where(PersonSchool.person_id == person.id)
            )
            rows = [
                {"person_id": person.id, "school_id": s, "org_id": ctx.org.id}
                for s in values["school_ids"]
            ]
            if rows:
                ctx.session.execute(insert(PersonSchool), rows)
        _write_settings(ctx, person.id, done)
        self._record(record, person, done, adopted)
        return {**changes, "_id": person.id, "_version": person.version}

    def _record(self, record: Incoming, person: Any, done: Reconciled, adopted: bool) -> None:
        ctx = self.ctx
        kind = record.kind
        ref = record.sourced_id
        status_change = next((c for c in done.changes if c.field == "status"), None)
        if adopted:
            ctx.bump(kind, "adopted")
            ctx.log.add(
                kind, person.id, "adopted", ref=ref, field_name="origin", old="manual", new="sis"
            )
        elif status_change and status_change.new == "active":
            ctx.bump(kind, "reactivated")
        elif status_change and status_change.new == "inactive":
            ctx.bump(kind, "deactivated")
        elif done.changes:
            ctx.bump(kind, "updated")
        else:
            ctx.bump(kind, "unchanged")
        if status_change and status_change.new == "inactive" and person.status == "active":
            ctx.deactivating[kind] = ctx.deactivating.get(kind, 0) + 1
        ctx.log.field_changes(kind, person.id, done.changes, ref=ref, shown=_SHOWN)
        for name in done.claimed:
            ctx.log.add(kind, person.id, "source_claimed", ref=ref, field_name=name)
        for s in done.settings:
            if s.op in ("set", "clear"):
                ctx.log.add(
                    kind,
                    person.id,
                    "setting_changed",
                    ref=ref,
                    field_name=f"{s.product}.{s.setting}",
                    old=s.old,
                    new=s.new,
                    overwritten=s.overwritten,
                )
        ctx.counts["manual_edits_overwritten"] += done.overwritten
        ctx.counts["product_settings_changed"] += done.settings_changed


def _write_settings(ctx: RunContext, person_id: int, done: Reconciled) -> None:
    table = table_of(ProductSetting)
    for s in done.settings:
        where = and_(
            table.c.person_id == person_id,
            table.c.product == s.product,
            table.c.setting == s.setting,
        )
        if s.op == "clear":
            ctx.session.execute(table.delete().where(where))
            continue
        exists = ctx.session.scalar(select(func.count()).select_from(table).where(where))
        values: dict[str, Any] = {
            "source": s.source or "sis",
            "sis_sends": s.sis_sends,
            "updated_at": utcnow(),
        }
        if s.op == "set":
            values["value"] = s.new
        if exists:
            ctx.session.execute(table.update().where(where).values(**values))
        else:
            ctx.session.execute(
                insert(table).values(
                    person_id=person_id,
                    product=s.product,
                    setting=s.setting,
                    org_id=ctx.org.id,
                    **{"value": s.new, **values},
                )
            )
