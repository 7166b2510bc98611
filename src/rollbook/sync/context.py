"""What the steps of one run share: the session, the counts, and the log of its changes.

A run's changes go to the `changes` table (R23). An applied run writes them as it goes,
inside its transaction; a dry run or a held run rolls its transaction back, so its changes
are spooled to a file and written afterwards as a preview, with the ids of entities that
only the rolled-back transaction had created left out (they never existed).
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import Select, insert, literal, select
from sqlalchemy.orm import Session

from rollbook.domain.catalogue import Catalogue
from rollbook.domain.permissions import Actor
from rollbook.domain.values import is_digits
from rollbook.store.bulk import bulk_insert, bulk_insert_dicts
from rollbook.store.models import Change, Org, table_of, utcnow

if TYPE_CHECKING:
    from rollbook.sync.reconcile import FieldChange

# The columns of a change row that `add` sets; the rest are the log's own (`_own`).
_VARYING = (
    "entity_kind",
    "entity_id",
    "entity_ref",
    "action",
    "field",
    "old",
    "new",
    "manual_edit_overwritten",
)
PLURAL = {"student": "students", "educator": "educators", "class": "classes"}
ENTITY_COUNTS = ("created", "adopted", "updated", "deactivated", "reactivated", "unchanged")
BATCH = 5000
MEMBER_KINDS = {"students": "student", "educators": "educator"}
SCHOOL_FIELDS = ("school_ids", "school_id")
# The counts of what a run found rather than changed: the same input finds them again.
FINDINGS = ("conflicts", "errors", "warnings", "not_imported")


def empty_counts() -> dict[str, Any]:
    """The report's counts (interfaces.md, a run's `counts`), all zero."""
    counts: dict[str, Any] = {k: dict.fromkeys(ENTITY_COUNTS, 0) for k in PLURAL.values()}
    counts["enrollments"] = {"added": 0, "removed": 0}
    counts["class_products"] = {"added": 0, "removed": 0}
    counts["schools"] = {"created": 0, "adopted": 0, "updated": 0}
    counts.update(
        product_settings_changed=0,
        manual_edits_overwritten=0,
        **dict.fromkeys(FINDINGS, 0),
    )
    return counts


@dataclass
class ChangeLog:
    """Every change a run makes, written in batches (live) or spooled (preview)."""

    session: Session
    org_id: int
    run_id: int
    actor: Actor
    preview: bool
    _rows: list[dict[str, Any]] = field(default_factory=list)
    _spool: IO[bytes] | None = None
    created: set[tuple[str, int]] = field(default_factory=set)
    written: int = 0

    def add(
        self,
        entity_kind: str,
        entity_id: int | None,
        action: str,
        *,
        ref: str | None = None,
        field_name: str | None = None,
        old: Any = None,
        new: Any = None,
        overwritten: bool = False,
    ) -> None:
        if action == "created" and entity_id is not None:
            self.created.add((entity_kind, entity_id))
        self._rows.append(
            {
                "entity_kind": entity_kind,
                "entity_id": entity_id,
                "entity_ref": ref,
                "action": action,
                "field": field_name,
                "old": old,
                "new": new,
                "manual_edit_overwritten": overwritten,
            }
        )
        if len(self._rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._rows:
            return
        self.written += len(self._rows)
        if self.preview:
            self._spool_rows()
        else:
            # What every row of the batch shares is processed once (timestamps and flags
            # went through SQLAlchemy's types row by row).
            bulk_insert(
                self.session,
                table_of(Change),
                _VARYING,
                map(itemgetter(*_VARYING), self._rows),
                constants=self._own(),
            )
        self._rows = []

    def _own(self) -> dict[str, Any]:
        """The columns that all of this log's rows written now share."""
        return {
            "org_id": self.org_id,
            "run_id": self.run_id,
            "preview": self.preview,
            "actor_kind": self.actor.kind,
            "actor_id": self.actor.id,
            "actor_name": self.actor.name,
            "at": utcnow(),
        }

    def _spool_rows(self) -> None:
        if not self._rows:
            return
        if self._spool is None:
            # Closed by write_preview() or discard(), once the run is over.
            self._spool = tempfile.TemporaryFile(prefix="rollbook-preview-")  # noqa: SIM115
        pickle.dump(self._rows, self._spool)
        self._rows = []

    def add_from(self, query: Select[Any]) -> int:
        """Changes the database builds itself from `query`, whose columns are named after
        those of the change table (the rest are this log's own), written in one statement;
        a preview spools them as it does the others. Returns how many."""
        self.flush()
        table = table_of(Change)
        own = {**self._own(), "manual_edit_overwritten": False}
        names = list(query.selected_columns.keys())
        rows = query.add_columns(
            *(literal(value, table.c[name].type).label(name) for name, value in own.items())
        )
        written: int = self.session.execute(
            insert(table)
            .from_select([*names, *own], rows)
            .execution_options(preserve_rowcount=True)
        ).rowcount  # type: ignore[attr-defined]
        self.written += written
        if self.preview:
            self.absorb()
        return written

    def absorb(self) -> None:
        """Move the changes of this run written to the table into the spool (a preview's, or
        a held run's before its rollback)."""
        table = table_of(Change)
        of_run = table.c.run_id == self.run_id
        rows = self.session.execute(select(table).where(of_run).order_by(table.c.id))
        for row in rows:
            values = dict(row._mapping)
            values.pop("id")
            values["preview"] = True
            self._rows.append(values)
            if len(self._rows) >= BATCH:
                self._spool_rows()
        self._spool_rows()
        self.session.execute(table.delete().where(of_run))

    def _spooled(self) -> Iterator[list[dict[str, Any]]]:
        if self._spool is None:
            return
        self._spool.seek(0)
        while True:
            try:
                yield pickle.load(self._spool)  # noqa: S301 - our own spool file
            except EOFError:
                return

    def field_changes(
        self,
        entity_kind: str,
        entity_id: int,
        changes: Iterable[FieldChange],
        *,
        ref: str | None,
        shown: Mapping[str, Callable[[Any], Any]],
    ) -> None:
        """One entry per changed field of an entity: `updated`, or `reactivated` or
        `deactivated` for its status; `shown` turns a field's values into their logged form
        (rollbook's ids as text)."""
        for change in changes:
            action = "updated"
            if change.field == "status":
                action = "reactivated" if change.new == "active" else "deactivated"
            show = shown.get(change.field)
            old, new = (show(change.old), show(change.new)) if show else (change.old, change.new)
            self.add(
                entity_kind,
                entity_id,
                action,
                ref=ref,
                field_name=change.field,
                old=old,
                new=new,
                overwritten=change.overwritten,
            )

    def write_preview(self, session: Session) -> None:
        """After the rollback: store the spooled changes as the run's preview."""
        self.flush()
        own = {**self._own(), "preview": True}
        for rows in self._spooled():
            # Rows of `add` carry what varies, rows read back by `absorb` every column.
            full = [{**own, **row} for row in rows]
            for row in full:
                self._forget_created(row)
            bulk_insert_dicts(session, table_of(Change), full)
        self.discard()

    def _forget_created(self, row: dict[str, Any]) -> None:
        """Ids that only the rolled-back transaction gave out name nothing: drop them."""
        if (row["entity_kind"], row["entity_id"]) in self.created:
            row["entity_id"] = None
        kind = MEMBER_KINDS.get(row["field"] or "")
        if kind is not None:
            for value in (row["old"], row["new"]):
                for member in value or ():
                    if (kind, int(member.get("id") or 0)) in self.created:
                        member["id"] = None
        if row["field"] in SCHOOL_FIELDS:
            row["old"], row["new"] = self._school(row["old"]), self._school(row["new"])
        elif row["action"] == "created" and isinstance(row["new"], dict):
            for name in SCHOOL_FIELDS:
                if name in row["new"]:
                    row["new"][name] = self._school(row["new"][name])

    def _school(self, value: Any) -> Any:
        """A school id (or list of them) of a change, without schools the preview created."""
        if isinstance(value, list):
            return [self._school(v) for v in value]
        if isinstance(value, str) and is_digits(value) and ("school", int(value)) in self.created:
            return None
        return value

    def discard(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None


@dataclass
class RunContext:
    """One run's shared state, inside its transaction."""

    session: Session
    org: Org
    run_id: int
    mode: str
    version: str
    catalogue: Catalogue
    log: ChangeLog
    counts: dict[str, Any] = field(default_factory=empty_counts)
    # SIS ids of orgs.csv rows → school ids; the district's own SIS ids.
    schools: dict[str, int] = field(default_factory=dict)
    district_refs: set[str] = field(default_factory=set)
    # Active `sis` entities before the run, and those the run deactivates (R20).
    active_before: dict[str, int] = field(default_factory=dict)
    deactivating: dict[str, int] = field(default_factory=dict)
    # A full snapshot read by its changed lines (sync/quick.py): the SIS ids whose lines left
    # it, by entity kind (`person`, `class`); the steps then work as for a delta and
    # deactivate exactly these (R19). None: the whole snapshot was staged.
    gone: dict[str, set[str]] | None = None
    # Entities deactivated for being absent (R19), by kind: part of `deactivated`.
    absent: dict[str, int] = field(default_factory=dict)
    # Memberships the run's enrollments make (one a line, for the copy of its snapshot).
    members_sent: int = 0
    # The organization held no person before the run (its first sync): there is nobody to
    # match a record with (R6) and, a membership being of a person, no membership to compare
    # what the SIS sends with (R15).
    first: bool = False

    @property
    def full(self) -> bool:
        return self.mode == "full"

    def bump(self, kind: str, what: str, n: int = 1) -> None:
        self.counts[PLURAL.get(kind, kind)][what] += n
