"""Small write helpers shared by the steps of a run."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import Select, Table, func, insert, select, text, union, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from rollbook.store.bulk import any_of, bulk_insert, bulk_insert_dicts, parts
from rollbook.store.models import table_of, utcnow
from rollbook.store.sync_tables import STAGE_TABLES, StageSkipped, SyncConflict, SyncIssue, SyncKey
from rollbook.sync.context import RunContext
from rollbook.sync.incoming import Incoming
from rollbook.sync.records import Issue

# PostgreSQL's SQLSTATE for a lock not granted within `lock_timeout`.
LOCK_NOT_AVAILABLE = "55P03"
log = logging.getLogger("rollbook.sync")

# Set in a session's `info` by a run that stages only a snapshot's changes.
FEW_CHANGES = "rollbook.few_changes"
WORK_TABLES = ("stage_", "sync_")


def analyze(ctx: RunContext, *tables: type[Any]) -> None:
    """Tell PostgreSQL's planner how big the tables a run fills are, where it no longer knows.

    Rows written moments ago in this transaction have no statistics yet; without them the
    planner takes a million-row join for a ten-row one. SQLite plans from its indexes.

    Every organization's runs share these tables (the roster's, and the work tables by run
    id), and sampling one costs (60 ms for `people` at 10,000 rows, most of a run of fifty
    students). A table is sampled when

    - PostgreSQL has never sampled it;
    - its rows changed since it was last sampled (this transaction's changes and, before
      this transaction sampled it, other transactions') by more than 50 + 10% of the rows
      PostgreSQL believes it holds, autovacuum's own rule;
    - or this run changed more of its rows than the statistics believe its organization
      (its run, for a work table) has there, + 100: the run has more than doubled them (an
      organization's first run, a run's own work rows). Without it, the second run of a new
      organization of 200 students next to a district of 10,000 looked its people up by
      nested loops over the staged rows, the statistics expecting one person (24 ms a
      statement, `auto_explain`), and such plans grow with the square of the organization.

    `ANALYZE` holds its table's SHARE UPDATE EXCLUSIVE lock until the transaction ends, and
    another run's `ANALYZE` of the same table waits for it: a run of fifty students waited
    for a district's whole run to commit. So a run that changed fewer than `WAIT_TO_SAMPLE`
    rows of a table since it last sampled it does not wait: where another transaction holds
    the lock, it plans with the statistics there are (at that size a plan's mistake costs
    little). The staged tables are sampled after staging, in a transaction of their own
    (`analyze_staged`), never here.
    """
    session = ctx.session
    if session.get_bind().dialect.name != "postgresql":
        return
    few_changes = session.info.get(FEW_CHANGES)
    names = [
        model.__tablename__
        for model in tables
        # A run read by its changes (sync/quick.py) changes a few rows of the roster's
        # tables, whose statistics stay right.
        if model.__tablename__.startswith(WORK_TABLES) or not few_changes
    ]
    if not names:
        return
    columns = ["run_id" if name.startswith(WORK_TABLES) else "org_id" for name in names]
    found = session.execute(_STATISTICS, {"names": names, "columns": columns}).all()
    if not found:
        return
    state = session.info.get(_ANALYZED)
    if state is None or state.txn != found[0].txn:
        # A new transaction: its counts of changed rows start again at zero.
        state = session.info[_ANALYZED] = _Analyzed(found[0].txn)
    for row in found:
        key = ctx.run_id if row.column == "run_id" else ctx.org.id
        changed_at = state.changed_at.get(row.name)
        if stale(row, key, changed_at):
            own = row.changed - (changed_at or 0)
            if _sample(session, row.name, wait=own >= WAIT_TO_SAMPLE):
                state.changed_at[row.name] = row.changed


# Changed rows of a table from which a run waits for another transaction's `ANALYZE` of it.
WAIT_TO_SAMPLE = 5000


def _sample(session: Session, name: str, *, wait: bool) -> bool:
    """`ANALYZE` a table; without `wait`, only if no other transaction holds its lock."""
    if wait:
        session.execute(text(f"ANALYZE {name}"))
        return True
    before = session.scalar(text("SELECT current_setting('lock_timeout')"))
    try:
        with session.begin_nested():
            session.execute(text("SET LOCAL lock_timeout = '20ms'"))
            session.execute(text(f"ANALYZE {name}"))
            session.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": before})
    except OperationalError as error:
        # psycopg's LockNotAvailable, by its SQLSTATE: a run on SQLite never imports psycopg.
        if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        log.info("%s is being sampled by another transaction; planned without", name)
        return False
    return True


def analyze_staged(session: Session) -> None:
    """Sample the staged tables once a run's snapshot is staged, in a transaction of its own
    that ends at once, so that no other run's sampling waits for this run (see analyze)."""
    if session.get_bind().dialect.name == "postgresql":
        for model in STAGE_TABLES:
            session.execute(text(f"ANALYZE {model.__tablename__}"))


def stale(row: Any, key: int, changed_at: int | None) -> bool:
    """Whether a table's statistics are to be refreshed (analyze above): `row` as
    _STATISTICS reads it, `key` the organization (the run, for a work table) whose rows the
    run changes, `changed_at` this transaction's count of the table's changed rows when it
    last sampled it (None: it has not)."""
    if changed_at is None:
        run_changes = row.changed
        since = row.changed + row.committed
    else:
        run_changes = since = row.changed - changed_at
    return bool(row.rows < 0 or since > 50 + row.rows / 10 or run_changes > 100 + rows_of(key, row))


@dataclass
class _Analyzed:
    """A transaction's `ANALYZE`s: its identity and each table's count of changed rows when
    it was sampled."""

    txn: str
    changed_at: dict[str, int] = field(default_factory=dict)


_ANALYZED = "rollbook.analyzed"
# Per table: the rows PostgreSQL believes it holds (-1: never sampled), the rows this
# transaction inserted, updated or deleted so far, those other transactions changed since its
# last ANALYZE, and the statistics of the column that tells whose rows they are (org_id,
# run_id); with the transaction's identity, since the counts are per transaction.
_STATISTICS = text(
    """
    SELECT c.relname AS name,
           t.col AS column,
           c.reltuples AS rows,
           pg_stat_get_xact_tuples_inserted(c.oid) + pg_stat_get_xact_tuples_updated(c.oid)
             + pg_stat_get_xact_tuples_deleted(c.oid) AS changed,
           coalesce(pg_stat_get_mod_since_analyze(c.oid), 0) AS committed,
           (pg_backend_pid(), now())::text AS txn,
           s.null_frac, s.n_distinct,
           s.most_common_vals::text::bigint[] AS common, s.most_common_freqs AS freqs
    FROM unnest(CAST(:names AS text[]), CAST(:columns AS text[])) AS t(name, col)
    JOIN pg_class c ON c.relname = t.name AND c.relkind = 'r' AND pg_table_is_visible(c.oid)
    LEFT JOIN pg_stats s
      ON s.schemaname = current_schema() AND s.tablename = c.relname AND s.attname = t.col
    """
)


def rows_of(key: int, row: Any) -> float:
    """The rows of an organization (a run) PostgreSQL's planner expects in a table, as its
    estimate of `org_id = :key` (`run_id`) computes them (eqsel: the most common values'
    frequencies, else the rest shared evenly among the other distinct values)."""
    if row.rows <= 0 or row.n_distinct is None:
        return 0.0
    common, freqs = row.common or [], row.freqs or []
    if key in common:
        return float(freqs[common.index(key)] * row.rows)
    distinct = row.n_distinct if row.n_distinct > 0 else -row.n_distinct * row.rows
    others = distinct - len(common)
    share = 1.0 - sum(freqs) - row.null_frac
    selectivity = share / others if others > 1 else share
    if freqs:
        selectivity = min(selectivity, *freqs)
    return float(max(selectivity, 0.0) * row.rows)


def doubled(number: int) -> bool:
    """Whether a run that adds a chunk of entities at a time has just doubled what it added
    (chunks 1, 2, 4, 8, …): when to refresh PostgreSQL's statistics of the table it fills, so
    that they stay within a factor of two of its size at a cost that grows with the log of
    the run's length, not with the run (every 20th chunk meant 50 `ANALYZE`s of a growing
    `people` in a first sync of 1,000,000 students)."""
    return number & (number - 1) == 0


@contextmanager
def planned_with_values(session: Session) -> Iterator[None]:
    """PostgreSQL plans the statements of this block with their own values and the
    statistics of the moment, never with a plan kept from earlier executions.

    The driver prepares a statement run often, and PostgreSQL then keeps one generic plan for
    it. The run's per-chunk lookups (1,000 keys in an `IN` list) were prepared while `people`
    was nearly empty, with a plan that read every person of the organization and filtered
    them: 250-340 ms a chunk by the end of a first sync of 100,000 students (`auto_explain`),
    quadratic over the run; planned with their values, that first sync took 41 s, not 52 s.
    Only for these lookups: planning every statement of the run anew (each row of a batched
    write too) took it to 56 s. On an error the transaction is rolled back, which ends the
    setting as well.
    """
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql:
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    yield
    if postgresql:
        session.execute(text("SET LOCAL plan_cache_mode TO DEFAULT"))


# The memory PostgreSQL gives each sort and hash of a run's set statements (`work_mem`).
# With the server's default of 4 MiB the sort of a first sync's 510,000 memberships of a
# 100,000-student district went to disk in 21 batches, and its member lists' sort wrote
# 36 MB of temporary files. A run is one connection doing one thing at a time.
RUN_SORT_MEMORY = "256MB"


def sort_memory(session: Session) -> None:
    """Give the sorts and hashes of the transaction's statements RUN_SORT_MEMORY
    (PostgreSQL only)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL work_mem = '{RUN_SORT_MEMORY}'"))


CHUNK = 1000


class ConcurrentEdit(Exception):
    """Someone changed an entity between the run's read and its write: the run starts over."""


def new_ids(session: Session, table: Table, n: int) -> list[int]:
    """`n` ids for rows about to be inserted into `table`, taken before they are written (no
    statement reads them back afterwards: 1 to 2% of a first sync)."""
    if session.get_bind().dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(table.name, "id")
        return list(
            session.scalars(select(func.nextval(sequence)).select_from(func.generate_series(1, n)))
        )
    # SQLite gives a row the largest id + 1, and a run holds the write lock from its first
    # statement (BEGIN IMMEDIATE): nobody else inserts until it ends.
    top = session.scalar(select(func.max(table.c.id))) or 0
    return list(range(top + 1, top + n + 1))


def new_sis_entity(ctx: RunContext, now: Any) -> dict[str, Any]:
    """The columns a person or class the run creates starts with, whatever the SIS sent."""
    return {
        "org_id": ctx.org.id,
        "origin": "sis",
        "notes": None,
        "version": 1,
        "synced_version": 1,
        "manual_mask": 0,
        "created_at": now,
        "updated_at": now,
    }


def ids_of_new(
    session: Session, table: Table, rows: list[dict[str, Any]], shared: dict[str, Any]
) -> list[int]:
    """Insert new entities in bulk and return their ids, in the order of `rows` (dicts with
    the same keys); `shared` holds the columns all of them have the same value in, processed
    once (a timestamp went through SQLAlchemy's types twice a row)."""
    ids = new_ids(session, table, len(rows))
    columns = list(rows[0])
    values = itemgetter(*columns)
    bulk_insert(
        session,
        table,
        ["id", *columns],
        ((entity_id, *values(row)) for entity_id, row in zip(ids, rows, strict=True)),
        constants=shared,
    )
    return ids


def key_row(
    ctx: RunContext, kind: str, sourced_id: str, entity_id: int | None, state: str
) -> dict[str, Any]:
    return {
        "run_id": ctx.run_id,
        "kind": kind,
        "sourced_id": sourced_id,
        "entity_id": entity_id,
        "state": state,
    }


class KeyWriter:
    """Collects a run's resolved keys (`sync_keys`) and writes them in batches.

    A protected entity (`#<id>`) may be named by several held-back records: it is written once.
    """

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.rows: list[dict[str, Any]] = []
        self._protected: set[tuple[str, int]] = set()

    def add(self, kind: str, sourced_id: str, entity_id: int | None, state: str) -> None:
        self.rows.append(key_row(self.ctx, kind, sourced_id, entity_id, state))

    def protect(self, kind: str, entity_id: int) -> None:
        if (kind, entity_id) not in self._protected:
            self._protected.add((kind, entity_id))
            self.add(kind, f"#{entity_id}", entity_id, "held")

    def flush(self) -> None:
        if self.rows:
            bulk_insert_dicts(self.ctx.session, table_of(SyncKey), self.rows)
            self.rows = []


def record_issue(ctx: RunContext, issue: Issue) -> None:
    """An input error or warning found while planning (R22), stored with the run."""
    ctx.session.execute(
        insert(SyncIssue),
        [
            {
                "run_id": ctx.run_id,
                "org_id": ctx.org.id,
                "severity": issue.severity,
                **issue.as_dict(),
            }
        ],
    )
    ctx.counts["errors" if issue.severity == "error" else "warnings"] += 1


def snapshot_of(record: Incoming) -> dict[str, Any]:
    """A created entity's values as its first history entry shows them."""
    values = dict(record.values)
    if "school_ids" in values:
        values["school_ids"] = [str(s) for s in values["school_ids"]]
    if "school_id" in values:
        values["school_id"] = str(values["school_id"])
    if record.settings:
        values["product_settings"] = {f"{p}.{s}": v for (p, s), v in record.settings.items()}
    return values


def record_conflict(
    ctx: RunContext,
    keys: KeyWriter,
    record: Incoming,
    *,
    file: str,
    key: str | None,
    value: str | None,
    candidates: list[int] | tuple[int, ...],
    message: str,
) -> None:
    """R9: a record held back, listed with its candidates, which this run will not deactivate."""
    ctx.session.execute(
        insert(SyncConflict),
        [
            {
                "run_id": ctx.run_id,
                "org_id": ctx.org.id,
                "kind": record.kind,
                "sourced_id": record.sourced_id,
                "key": key,
                "value": value,
                "candidates": [str(c) for c in candidates],
                "message": f"{file} line {record.line}: not applied: {message}",
            }
        ],
    )
    ctx.counts["conflicts"] += 1
    group = "class" if record.kind == "class" else "person"
    keys.add(group, record.sourced_id, None, "held")
    for candidate in candidates:
        keys.protect(group, candidate)


def skipped_refs(ctx: RunContext, file: str) -> Select[Any]:
    """SIS ids of `file`'s records that this run skipped or held back without naming an entity:
    rows refused while reading (stage) and records refused while planning (R22)."""
    kind = "class" if file == "classes.csv" else "person"
    read = select(StageSkipped.sourced_id).where(
        StageSkipped.run_id == ctx.run_id, StageSkipped.file == file
    )
    planned = select(SyncKey.sourced_id).where(
        SyncKey.run_id == ctx.run_id,
        SyncKey.kind == kind,
        SyncKey.state == "held",
        SyncKey.entity_id.is_(None),
    )
    return select(union(read, planned).subquery().c[0])


def active_sis(ctx: RunContext, table: Table, *where: Any) -> int:
    """How many active `sis` entities of the organization `table` holds (R20): all active
    ones less the hand-made ones, each counted from an index alone (origin is in no index
    but the small partial one of hand-made rows)."""
    active = (table.c.org_id == ctx.org.id, table.c.status == "active", *where)
    total = ctx.session.scalar(select(func.count()).select_from(table).where(*active)) or 0
    manual = (
        ctx.session.scalar(
            select(func.count()).select_from(table).where(*active, table.c.origin == "manual")
        )
        or 0
    )
    return int(total) - int(manual)


def deactivate_absent(
    ctx: RunContext,
    table: Table,
    *,
    key_kind: str,
    kind: Any,
    among: Collection[str] | None = None,
) -> None:
    """R19: every active `sis` entity the run neither resolved nor protected is deactivated,
    never deleted, and each one is counted and logged; `kind` names each row's entity kind.
    `among`: the SIS ids of the only entities that can be absent, when the run knows them
    (sync/quick.py: those whose lines left the snapshot)."""
    columns = (table.c.id, kind, table.c.external_id)
    active = (table.c.org_id == ctx.org.id, table.c.origin == "sis", table.c.status == "active")
    if among is None:
        seen = select(SyncKey.entity_id).where(
            SyncKey.run_id == ctx.run_id,
            SyncKey.kind == key_kind,
            SyncKey.entity_id == table.c.id,
        )
        gone = list(
            ctx.session.execute(
                select(*columns).where(*active, ~seen.exists()).order_by(table.c.id)
            )
        )
    else:
        gone = sorted(
            (
                row
                for part in parts(sorted(among), CHUNK)
                for row in ctx.session.execute(
                    select(*columns).where(*active, any_of(ctx.session, table.c.external_id, part))
                )
            ),
            key=lambda row: row[0],
        )
    for part in parts(gone, CHUNK):
        ctx.session.execute(
            update(table)
            .where(any_of(ctx.session, table.c.id, [row[0] for row in part]))
            .values(
                status="inactive",
                version=table.c.version + 1,
                synced_version=table.c.version + 1,
                sis_hash=None,
                sis_print=None,
                updated_at=utcnow(),
            )
        )
        for entity_id, entity_kind, external_id in part:
            ctx.bump(entity_kind, "deactivated")
            ctx.deactivating[entity_kind] = ctx.deactivating.get(entity_kind, 0) + 1
            ctx.absent[entity_kind] = ctx.absent.get(entity_kind, 0) + 1
            ctx.log.add(
                entity_kind,
                entity_id,
                "deactivated",
                ref=external_id,
                field_name="status",
                old="active",
                new="inactive",
            )
