"""Unchanged records recognised in SQL: one join settles the people and classes whose staged
rows are those they were last synced from, so that only the rest goes through the
field-by-field path (sync/people.py, sync/classes.py).

A staged record is settled, and counts as `unchanged`, when its entity

- stores the fingerprint of the very same rows under the same salt (`sis_print`, see
  sync/fingerprint.py): same values, same role rows, same catalogue, same school ids;
- is an active `sis` entity nobody edited since the last sync (`version == synced_version`)
  and, for a student, has no setting changed by hand that the SIS sends: R17, any hand
  edit since sends the record down the full path, which puts the SIS values back;
- is the only entity any key of the record names, and no other staged record names it or
  carries the same username or identifier (R6, R9, R10: matching would find it alone);
- and the record is neither marked `tobedeleted` nor disabled, nor skipped (R22).

Its key is written as `applied`, so the run neither deactivates it (R19) nor drops its
memberships. Everything else about the record would have been decided the same way by the
full path, which the tests compare side by side.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import String, and_, cast, exists, func, literal, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session, aliased

from rollbook.store.bulk import any_of, parts
from rollbook.store.models import Class, Person, ProductSetting, table_of
from rollbook.store.sync_tables import StageClass, StageRole, StageUser, SyncKey
from rollbook.sync.context import RunContext
from rollbook.sync.fingerprint import row_salt

_P = table_of(Person)
_C = table_of(Class)


def salt_of(ctx: RunContext) -> str:
    """This run's salt of `sis_print` (after the schools step: it covers their ids)."""
    return row_salt(
        catalogue_text=repr(ctx.catalogue.products),
        version=ctx.version,
        schools=ctx.schools,
        district_refs=ctx.district_refs,
    )


def role_sums(ctx: RunContext) -> Any:
    """Per staged user: the sum and the count of its role rows' fingerprints."""
    sr = table_of(StageRole)
    return (
        select(
            sr.c.user_sourced_id.label("sourced_id"),
            func.sum(sr.c.row_print).label("total"),
            func.count().label("n"),
        )
        .where(sr.c.run_id == ctx.run_id)
        .group_by(sr.c.user_sourced_id)
        .subquery()
    )


def _alone(table: Any, entity: Any, org_id: int, pairs: list[tuple[Any, Any]]) -> list[Any]:
    """No other entity of the organization holds any of these keys."""
    other = aliased(table)
    return [
        ~exists().where(other.c.org_id == org_id, other.c[column] == value, other.c.id != entity)
        for column, value in pairs
    ]


def _sync_state(table: Any) -> list[Any]:
    return [
        table.c.origin == "sis",
        table.c.status == "active",
        table.c.version == table.c.synced_version,
    ]


def settled_people(ctx: RunContext, salt: str) -> list[Any]:
    """Staged users whose person is unchanged: (sourced_id, username_key, identifier,
    person id, kind). The caller drops those that R9 holds back (keys claimed twice,
    contested people, rows skipped)."""
    su = table_of(StageUser)
    printed: Any = literal(salt, String) + su.c.row_hash
    query = select(
        su.c.sourced_id, su.c.username_key, su.c.identifier, _P.c.id, _P.c.kind
    ).select_from(su)
    if ctx.version == "1.2":
        # A 1.2 user without role rows is decided from its stored standing: full path.
        roles = role_sums(ctx)
        query = query.join(roles, roles.c.sourced_id == su.c.sourced_id)
        printed = printed + ":" + cast(roles.c.total, String) + ":" + cast(roles.c.n, String)
    hand_setting = exists().where(
        ProductSetting.person_id == _P.c.id,
        ProductSetting.source == "manual",
        ProductSetting.sis_sends.is_(True),
    )
    query = query.join(
        _P, and_(_P.c.org_id == ctx.org.id, _P.c.external_id == su.c.sourced_id)
    ).where(
        su.c.run_id == ctx.run_id,
        su.c.enabled.is_(True),
        or_(su.c.status.is_(None), su.c.status != "tobedeleted"),
        _P.c.sis_print == printed,
        *_sync_state(_P),
        ~hand_setting,
        *_alone(
            _P,
            _P.c.id,
            ctx.org.id,
            [("username_key", su.c.username_key), ("external_id", su.c.sourced_id)],
        ),
        or_(
            su.c.identifier.is_(None),
            su.c.identifier == "",
            *_alone(_P, _P.c.id, ctx.org.id, [("alt_external_id", su.c.identifier)]),
        ),
    )
    if ctx.gone is not None:
        # A run read by its changes stages a few thousand users: look each one's person up
        # by its SIS id, rather than read the organization's people to find the staged ones
        # (SQLite's plan without statistics; the same condition again, said as a lookup).
        staged = select(su.c.sourced_id).where(su.c.run_id == ctx.run_id)
        query = query.where(_P.c.external_id.in_(staged))
    return list(ctx.session.execute(query).all())


def settled_classes(ctx: RunContext, salt: str) -> list[Any]:
    """Staged classes whose class is unchanged: (sourced_id, class_code, class id). The
    caller drops those that R9 holds back (codes claimed twice, contested classes)."""
    sc = table_of(StageClass)
    query = (
        select(sc.c.sourced_id, sc.c.class_code, _C.c.id)
        .select_from(sc)
        .join(_C, and_(_C.c.org_id == ctx.org.id, _C.c.external_id == sc.c.sourced_id))
        .where(
            sc.c.run_id == ctx.run_id,
            or_(sc.c.status.is_(None), sc.c.status != "tobedeleted"),
            _C.c.sis_print == literal(salt, String) + sc.c.row_hash,
            *_sync_state(_C),
            *_alone(_C, _C.c.id, ctx.org.id, [("external_id", sc.c.sourced_id)]),
            or_(
                sc.c.class_code.is_(None),
                sc.c.class_code == "",
                *_alone(_C, _C.c.id, ctx.org.id, [("alt_external_id", sc.c.class_code)]),
            ),
        )
    )
    if ctx.gone is not None:
        staged = select(sc.c.sourced_id).where(sc.c.run_id == ctx.run_id)
        query = query.where(_C.c.external_id.in_(staged))
    return list(ctx.session.execute(query).all())


def unsettled(
    ctx: RunContext, model: type[StageUser] | type[StageClass], kind: str, chunk: int
) -> Iterator[list[Row[Any]]]:
    """The staged records of `model` not settled yet, in file order (a sourcedId is never
    staged twice), `chunk` at a time.

    Their lines are listed once, right after settling: an anti-join then, against keys
    PostgreSQL has statistics for; one per chunk, against keys growing as the run goes, was
    planned as a scan of every key per row.
    """
    for part in parts(unsettled_lines(ctx, model, kind), chunk):
        yield staged_rows(ctx.session, model, ctx.run_id, part)


def unsettled_lines(
    ctx: RunContext, model: type[StageUser] | type[StageClass], kind: str
) -> Sequence[int]:
    """The lines of the staged records of `model` not settled yet, in file order."""
    settled = exists().where(
        SyncKey.run_id == ctx.run_id, SyncKey.kind == kind, SyncKey.sourced_id == model.sourced_id
    )
    return ctx.session.scalars(
        select(model.line).where(model.run_id == ctx.run_id, ~settled).order_by(model.line)
    ).all()


def staged_rows(
    session: Session, model: type[StageUser] | type[StageClass], run_id: int, lines: Sequence[int]
) -> list[Row[Any]]:
    """The staged rows of `model` at these lines, in file order."""
    table = table_of(model)
    return list(
        session.execute(
            select(table)
            .where(table.c.run_id == run_id, any_of(session, table.c.line, lines))
            .order_by(table.c.line)
        ).all()
    )
