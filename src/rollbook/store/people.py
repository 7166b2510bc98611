"""Queries on people: students and educators."""

from __future__ import annotations

from collections import defaultdict, namedtuple
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeAlias

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Executable,
    Integer,
    Select,
    bindparam,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    union,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from rollbook.store.models import Person, PersonSchool
from rollbook.store.paging import Page, page_of

PERSON_COLUMNS = tuple(Person.__table__.columns)
# A person as the lists read it: a named tuple of its columns (PERSON_COLUMNS, by name), not
# an ORM object nor SQLAlchemy's Row. A page of 51 people with their names read: 0.65-0.86 ms
# as rows, 0.91-1.48 ms as objects (best of five rounds of 200, SQLite, 10,000 students). A
# Row finds each attribute by name when it is read: the 12 values of a person's view took
# 4.3 us from a Row, 0.4 us from a named tuple, which takes 0.65 us to make (1,000,000
# students). Read it, never change it.
PersonRow: TypeAlias = Any
_PERSON_ROW = namedtuple("PersonRow", [column.key for column in PERSON_COLUMNS])  # type: ignore[misc]


def person_rows(session: Session, statement: Executable, values: dict[str, Any]) -> list[PersonRow]:
    """The people a statement selecting PERSON_COLUMNS finds, as PersonRow (Core's path: the
    ORM's adds nothing to plain columns)."""
    return list(map(_PERSON_ROW._make, session.connection().execute(statement, values)))


def person(session: Session, *, org_id: int, kind: str, person_id: int) -> Person | None:
    found = session.get(Person, person_id)
    if found is None or found.org_id != org_id or found.kind != kind:
        return None
    return found


def people_by_ids(session: Session, *, org_id: int, ids: Iterable[int]) -> dict[int, Person]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = session.scalars(select(Person).where(Person.org_id == org_id, Person.id.in_(wanted)))
    return {p.id: p for p in rows}


def holder_of_username(session: Session, *, org_id: int, username_key: str) -> Person | None:
    return session.scalars(
        select(Person).where(Person.org_id == org_id, Person.username_key == username_key)
    ).one_or_none()


def holders_of_identifier(
    session: Session, *, org_id: int, column: str, value: str, except_id: int | None
) -> list[int]:
    """People of the organization whose external or alt external id is `value`."""
    attribute = getattr(Person, column)
    query = select(Person.id).where(Person.org_id == org_id, attribute == value)
    if except_id is not None:
        query = query.where(Person.id != except_id)
    return list(session.scalars(query))


_SCHOOLS_OF = (
    select(PersonSchool.person_id, PersonSchool.school_id)
    .where(PersonSchool.person_id.in_(bindparam("ids", expanding=True)))
    .order_by(PersonSchool.school_id)
)


def school_ids_of(session: Session, person_ids: Iterable[int]) -> dict[int, list[int]]:
    """Each person's school ids, in order. Core, not the ORM's execution: for the 50 people
    of a page 266 µs against 473 µs (best of five rounds of 300, SQLite, 10,000 students)."""
    ids = list(set(person_ids))
    found: dict[int, list[int]] = defaultdict(list)
    if not ids:
        return found
    for person_id, school_id in session.connection().execute(_SCHOOLS_OF, {"ids": ids}):
        found[person_id].append(school_id)
    return found


def set_schools(session: Session, *, person: Person, school_ids: Iterable[int]) -> None:
    session.execute(delete(PersonSchool).where(PersonSchool.person_id == person.id))
    rows = [
        {"person_id": person.id, "school_id": sid, "org_id": person.org_id}
        for sid in sorted(set(school_ids))
    ]
    if rows:
        session.execute(insert(PersonSchool), rows)


def like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def after_bound(*, indexed: bool = True) -> ColumnElement[bool]:
    """Keyset paging in people's name order: after the row whose sort key and id are bound
    as `after_key` and `after_id` (values: `after_values`); `indexed` False: tested on
    expressions no index holds (`_unindexed`)."""
    key: BindParameter[str] = bindparam("after_key")
    sort_key: Any = Person.sort_key if indexed else _unindexed(Person.sort_key)
    person_id: Any = Person.id if indexed else Person.id + literal_column("0")
    return or_(sort_key > key, (sort_key == key) & (person_id > bindparam("after_id")))


def after_values(after: list[object] | None) -> dict[str, object]:
    if after is None:
        return {}
    return {"after_key": str(after[0]), "after_id": int(str(after[1]))}


def upper_bound(prefix: str) -> str | None:
    """The least text after every text that starts with `prefix`, compared code point by code
    point (None: there is none, the prefix ends in the last code point)."""
    following = ord(prefix[-1]) + 1
    if following == 0xD800:  # surrogates are not text: the next character is U+E000
        following = 0xE000
    if following > 0x10FFFF:
        return None
    return prefix[:-1] + chr(following)


def prefix_range(
    column: InstrumentedAttribute[str], pattern: object, low: object, high: object | None
) -> list[ColumnElement[bool]]:
    """Conditions: `column` starts with a prefix, as a range an index can serve (the keys are
    compared byte by byte: SQLite's BINARY, PostgreSQL's "C" collation of the key columns),
    and the exact test beside it. `pattern` is `like_prefix` of the prefix, `low` the prefix,
    `high` its `upper_bound` (None: the exact test alone); values or bound parameters."""
    exact = column.like(pattern, escape="\\")
    if high is None:
        return [exact]
    return [column >= low, column < high, exact]


def prefix_of(column: InstrumentedAttribute[str], prefix: str) -> list[ColumnElement[bool]]:
    """`prefix_range` of one prefix, its values in the statement."""
    return prefix_range(column, like_prefix(prefix), prefix, upper_bound(prefix))


@dataclass(frozen=True, slots=True)
class _Shape:
    """What varies in the statement of a page of people, beside its values."""

    searched: bool
    ranged: bool
    # The keys (first_key, username_key) whose arm scans in name order, testing each row,
    # because its prefix is common (_common_keys); the others' arms are index ranges.
    in_name_order: tuple[str, ...]
    # The page is of a few schools' people (_few_members): read from those schools and
    # sorted, not found by walking the organization in name order.
    by_schools: bool
    origin: bool
    within: bool
    school: bool
    after: bool
    limit: int


def _unindexed(column: InstrumentedAttribute[str]) -> ColumnElement[str]:
    """The column's text as an expression no index holds, where a search arm must not read
    that index: each planner (SQLite's without statistics) otherwise takes the other way for
    some prefixes, walking the whole organization in name order for a rare one (seconds at
    a million people) or sorting a common one's range (80 ms)."""
    return column.concat(literal_column("''"))


def _of_org_kind_status(*, indexed: bool = True) -> list[ColumnElement[bool]]:
    """The people of an organization, kind and statuses (bound as `org_id`, `kind`,
    `statuses`); `indexed` False: tested on expressions no index holds (`_unindexed`)."""
    statuses: BindParameter[list[str]] = bindparam("statuses", expanding=True)
    if indexed:
        return [
            Person.org_id == bindparam("org_id"),
            Person.kind == bindparam("kind"),
            Person.status.in_(statuses),
        ]
    return [
        Person.org_id + literal_column("0") == bindparam("org_id"),
        _unindexed(Person.kind) == bindparam("kind"),
        _unindexed(Person.status).in_(statuses),
    ]


@lru_cache(maxsize=256)
def _page_statement(shape: _Shape) -> Select[Any]:
    """The statement of one shape of page, its values bound by name: built and compiled once
    rather than for every request (a tenth of a list request's processor time)."""
    # A few schools' people are found from the schools alone: every other test is made on
    # an expression no index holds, so neither planner walks the organization's people instead.
    conditions = _of_org_kind_status(indexed=not shape.by_schools)
    if shape.origin:
        conditions.append(Person.origin == bindparam("origin"))
    for name, on in (("within", shape.within), ("school", shape.school)):
        if not on:
            continue
        members = select(PersonSchool.person_id).where(
            PersonSchool.school_id.in_(bindparam(name, expanding=True))
        )
        conditions.append(Person.id.in_(members))
    if shape.after:
        conditions.append(after_bound(indexed=not shape.by_schools))
    order = (Person.sort_key, Person.id)
    pattern: BindParameter[str] = bindparam("pattern")
    low: BindParameter[str] = bindparam("low")
    high: BindParameter[str] = bindparam("high")
    if shape.by_schools:
        # Every person of the schools tested, then sorted.
        if shape.searched:
            keys = (Person.sort_key, Person.first_key, Person.username_key)
            conditions.append(or_(*(_unindexed(k).like(pattern, escape="\\") for k in keys)))
        query = select(*PERSON_COLUMNS).where(*conditions)
        return query.order_by(_unindexed(Person.sort_key), Person.id).limit(shape.limit + 1)
    if not shape.searched:
        return select(*PERSON_COLUMNS).where(*conditions).order_by(*order).limit(shape.limit + 1)
    arms = []
    for column in (Person.sort_key, Person.first_key, Person.username_key):
        if shape.ranged and column.key in shape.in_name_order:
            # The list's index read in name order (it holds the key) until the page is full.
            exact = _unindexed(column).like(pattern, escape="\\")
            arm = select(Person.id).where(*conditions, exact).order_by(*order)
        elif shape.ranged and column is not Person.sort_key:
            # The prefix's range read in the key's own index, then sorted.
            matching = prefix_range(column, pattern, low, high)
            arm = select(Person.id).where(*conditions, *matching)
            arm = arm.order_by(_unindexed(Person.sort_key), Person.id)
        else:
            matching = prefix_range(column, pattern, low, high if shape.ranged else None)
            arm = select(Person.id).where(*conditions, *matching).order_by(*order)
        arms.append(arm.limit(shape.limit + 1).subquery())
    found = union(*(select(arm.c.id) for arm in arms)).subquery()
    query = select(*PERSON_COLUMNS).where(Person.id.in_(select(found.c.id)))
    return query.order_by(*order).limit(shape.limit + 1)


# How many people a key's prefix range must hold for its search arm to read in name order
# (list_people). That arm reads about 51 times the organization's people over those matching
# before its page is full (at most ~10,000 index entries at a million people); a range below
# it is read whole and sorted. Counting up to it reads at most that many index entries.
COMMON_PREFIX = 5000


def _up_to_common(held: Select[Any]) -> Select[Any]:
    """How many rows `held` finds, counted up to COMMON_PREFIX (bound as `common`)."""
    counted = held.limit(bindparam("common", type_=Integer)).subquery()
    return select(func.count()).select_from(counted)


def _holds_common(session: Session, statement: Select[Any], values: dict[str, object]) -> bool:
    """Whether an `_up_to_common` statement counts COMMON_PREFIX rows."""
    counted = {**values, "common": COMMON_PREFIX}
    return bool(session.connection().execute(statement, counted).scalar_one() >= COMMON_PREFIX)


@lru_cache(maxsize=8)
def _prefix_count(key: str) -> Select[Any]:
    """How many people of an organization, kind and status a key's prefix range holds, up to
    COMMON_PREFIX (a range of the key's own index)."""
    column = getattr(Person, key)
    return _up_to_common(
        select(literal(1)).where(
            *_of_org_kind_status(), column >= bindparam("low"), column < bindparam("high")
        )
    )


@lru_cache(maxsize=1)
def _members_count() -> Select[Any]:
    """How many people some schools hold (any kind or status), up to COMMON_PREFIX."""
    schools: BindParameter[list[int]] = bindparam("schools", expanding=True)
    return _up_to_common(select(literal(1)).where(PersonSchool.school_id.in_(schools)))


def _few_members(session: Session, schools: list[int]) -> bool:
    """Whether these schools hold fewer than COMMON_PREFIX people: a page of their people is
    then read from them and sorted. Walking the organization in name order for them, a page
    of one school of 530 students among 1,000,000 took 30 ms (SQLite), and a search 40-63 ms."""
    return not _holds_common(session, _members_count(), {"schools": schools})


def _common_keys(session: Session, values: dict[str, object], *, status: str) -> tuple[str, ...]:
    """The keys among the first name's and the username's whose prefix range holds at least
    COMMON_PREFIX people: their search arms read in name order."""
    if status == "all":  # two statuses: no index reads them in name order
        return ()
    return tuple(
        key
        for key in ("first_key", "username_key")
        if _holds_common(session, _prefix_count(key), values)
    )


def list_people(
    session: Session,
    *,
    org_id: int,
    kind: str,
    within: frozenset[int] | None,
    q: str | None,
    school_id: int | None,
    origin: str | None,
    status: str,
    limit: int,
    after: list[object] | None,
) -> Page[PersonRow]:
    """One page of people ordered by last name, first name, id; keyset-paginated.

    A search (`q`, a prefix of the last name, the first name or the username) is three
    index range scans, one per key, each cut to the page, merged and cut again: one scan in
    name order that tests each row against the prefix reads the whole organization when the
    prefix is rare (a million people: seconds). The first name's and the username's ranges
    are not in name order: each is read whole and sorted, which a common prefix makes long
    ("a" matched 112,975 first names at a million students: 52-67 ms). Where a range holds at
    least COMMON_PREFIX people, its arm reads the list's index in name order instead (it
    holds both keys), stopping at the page's end, which such a prefix reaches soon: on the
    first page of a search of the whole organization. A page of schools holding fewer than
    COMMON_PREFIX people (a teacher's, or one school asked for) is read from those schools
    and sorted (_few_members)."""
    prefix = q.strip().casefold() if q else ""
    high = upper_bound(prefix) if prefix else None
    values: dict[str, object] = {
        "org_id": org_id,
        "kind": kind,
        "statuses": ["active", "inactive"] if status == "all" else [status],
        "origin": origin,
        "within": sorted(within) if within is not None else None,
        "school": [school_id],
        "pattern": like_prefix(prefix),
        "low": prefix,
        "high": high,
    }
    values.update(after_values(after))
    ranged = high is not None
    # The narrower of the schools named (the one asked for, or the actor's).
    schools = [school_id] if school_id is not None else None if within is None else sorted(within)
    by_schools = schools is not None and _few_members(session, schools)
    # In name order only for a first page of the whole organization: past a cursor, or
    # within some schools or one origin, the people matching may come late in name order.
    whole = after is None and within is None and school_id is None and origin is None
    shape = _Shape(
        searched=bool(prefix),
        ranged=ranged,
        in_name_order=_common_keys(session, values, status=status) if ranged and whole else (),
        by_schools=by_schools,
        origin=origin is not None,
        within=within is not None,
        school=school_id is not None,
        after=after is not None,
        limit=limit,
    )
    rows = person_rows(session, _page_statement(shape), values)
    return page_of(rows, limit, lambda p: [p.sort_key, p.id])
