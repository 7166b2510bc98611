"""Memberships (R15) and class products (R14) of the run's classes, by set operations.

What the SIS sends is resolved to ids with joins on the run's keys (`sync_keys`) and put in
`sync_members` / `sync_products`; the differences with what is stored are then read, logged
per class and written, each in a few statements. An organization's first run has no
membership to compare with: its memberships are written straight from the join.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    Column,
    FromClause,
    MetaData,
    Select,
    String,
    Table,
    Update,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from rollbook.store.bulk import any_of, bulk_insert, indexes_built_after, parts
from rollbook.store.db import is_sqlite
from rollbook.store.models import Class, ClassProduct, Id, Membership, Person, table_of, utcnow
from rollbook.store.sqljson import json_lists, json_object, json_string
from rollbook.store.sync_tables import (
    StageClassResource,
    StageEnrollment,
    StageResource,
    SyncKey,
    SyncMember,
    SyncProduct,
)
from rollbook.sync.context import RunContext
from rollbook.sync.records import Issue
from rollbook.sync.writes import analyze, record_issue

# Enrollment roles that make a member (interfaces.md: student / teacher, aide, administrator).
MEMBER_ROLES = ("student", "teacher", "aide", "administrator", "proctor")
_FIELD = {"student": "students", "educator": "educators"}
_RESOLVED = ("applied", "ref")
MAX_REFERENCE_ERRORS = 10_000
# Added memberships written per batch: a first sync adds millions, each batch held once more.
# Classes whose added memberships are read, logged and written together (some 50,000
# memberships at 25 a class).
CLASS_BATCH = 2_000
_Id = TypeVar("_Id")


def _active(status: Any) -> Any:
    return or_(status.is_(None), status != "tobedeleted")


def _key(ctx: RunContext, kind: str, sourced: Any, states: Iterable[str] = _RESOLVED) -> Any:
    alias = aliased(SyncKey)
    return alias, and_(
        alias.run_id == ctx.run_id,
        alias.kind == kind,
        alias.sourced_id == sourced,
        alias.state.in_(list(states)),
    )


def resolve_existing(ctx: RunContext) -> None:
    """A delta names people and classes it does not carry: resolve them to stored `sis` ones."""
    for kind, model, column in (
        ("person", Person, StageEnrollment.user_sourced_id),
        ("class", Class, StageEnrollment.class_sourced_id),
        ("class", Class, StageClassResource.class_sourced_id),
    ):
        table = column.class_
        referenced = select(column).where(table.run_id == ctx.run_id)
        known = select(SyncKey.sourced_id).where(
            SyncKey.run_id == ctx.run_id,
            SyncKey.kind == kind,
            SyncKey.sourced_id == model.external_id,
        )
        ctx.session.execute(
            insert(SyncKey).from_select(
                ["run_id", "kind", "sourced_id", "entity_id", "state"],
                select(
                    literal(ctx.run_id), literal(kind), model.external_id, model.id, literal("ref")
                )
                .where(
                    model.org_id == ctx.org.id,
                    model.origin == "sis",
                    model.external_id.in_(referenced),
                    ~known.exists(),
                )
                .distinct(),
            )
        )


def _report_unresolved(ctx: RunContext, file: str, rows: Iterable[Any], what: str) -> None:
    for n, (line, column, ref) in enumerate(rows):
        if n >= MAX_REFERENCE_ERRORS:
            break
        message = f"{file} line {line}, column {column}: unknown {what} {ref!r}"
        record_issue(ctx, Issue(file, line, column, f"unknown_{what}", message, None, "error"))


# The SIS ids an enrollment may name and still be known: its class's and its person's.
_KNOWN_CLASS = ("applied", "ref", "held")
_KNOWN_PERSON = ("applied", "ref", "held", "ignored")

# SQLite: the run's keys as its enrollments look them up, in temporary tables of the run's
# connection keyed by SIS id alone (`EnrollmentKeys`).
_LOOKUPS = MetaData()
_CLASS_LOOKUP = Table(
    "run_class_keys",
    _LOOKUPS,
    Column("sourced_id", String(255), primary_key=True),
    Column("entity_id", Id),
    Column("member", Boolean, nullable=False),
    prefixes=["TEMPORARY"],
    sqlite_with_rowid=False,
)
_PERSON_LOOKUP = Table(
    "run_person_keys",
    _LOOKUPS,
    Column("sourced_id", String(255), primary_key=True),
    Column("entity_id", Id),
    Column("kind", String(16)),
    Column("member", Boolean, nullable=False),
    prefixes=["TEMPORARY"],
    sqlite_with_rowid=False,
)


@dataclass(frozen=True)
class EnrollmentKeys:
    """Each SIS id of a class or person the run knows (`_KNOWN_CLASS`, `_KNOWN_PERSON`), as
    its enrollments look it up: `classes` (sourced_id, entity_id, member: a resolved `sis`
    class, active) and `people` (sourced_id, entity_id, kind, member: a resolved person)."""

    classes: FromClause
    people: FromClause


def _key_rows(ctx: RunContext) -> tuple[Select[Any], Select[Any]]:
    """The rows of `EnrollmentKeys`'s two tables, from the run's keys and its entities."""
    k = aliased(SyncKey)
    resolved = k.state.in_(_RESOLVED)
    classes = (
        select(
            k.sourced_id,
            k.entity_id,
            case(
                (and_(resolved, Class.origin == "sis", Class.status == "active"), True),
                else_=False,
            ).label("member"),
        )
        .outerjoin(Class, Class.id == k.entity_id)
        .where(k.run_id == ctx.run_id, k.kind == "class", k.state.in_(_KNOWN_CLASS))
    )
    people = (
        select(
            k.sourced_id,
            k.entity_id,
            Person.kind,
            case((and_(resolved, Person.id.is_not(None)), True), else_=False).label("member"),
        )
        .outerjoin(Person, Person.id == k.entity_id)
        .where(k.run_id == ctx.run_id, k.kind == "person", k.state.in_(_KNOWN_PERSON))
    )
    return classes, people


@contextmanager
def enrollment_keys(ctx: RunContext) -> Iterator[EnrollmentKeys]:
    """The run's keys for its enrollments. On SQLite written once into `_CLASS_LOOKUP` and
    `_PERSON_LOOKUP` (dropped after): each enrollment then finds its class and person in one
    search of a b-tree keyed by SIS id, where `sync_keys` took two each (its index, then its
    row) and two more for the class's and the person's rows. At 1,000,000 students, 5.1
    million enrollments: the unknown references' search 12.6 → 4.2 s, the memberships'
    25.5 → 8.8 s, for 1.4 s writing the tables (docs/benchmarks.md, twenty-second session).
    PostgreSQL joins them by hashes as they are."""
    classes, people = _key_rows(ctx)
    session = ctx.session
    if not is_sqlite(session.get_bind().engine):
        yield EnrollmentKeys(classes.subquery(), people.subquery())
        return
    connection = session.connection()
    # The temporary tables' own page cache, as large as the run's (2 MiB by default).
    cache = connection.exec_driver_sql("PRAGMA main.cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA temp.cache_size={int(cache or 0)}")
    tables = (_CLASS_LOOKUP, _PERSON_LOOKUP)
    for table, rows in zip(tables, (classes, people), strict=True):
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{table.name}")
        table.create(connection)
        connection.execute(insert(table).from_select(list(table.c.keys()), rows))
        # Planned from their sizes: not one scan of a table per enrollment.
        connection.exec_driver_sql(f"ANALYZE temp.{table.name}")
    yield EnrollmentKeys(_CLASS_LOOKUP, _PERSON_LOOKUP)
    for table in tables:
        table.drop(connection)


def sent_memberships(
    ctx: RunContext, keys: EnrollmentKeys, *leading: Any, ordered: bool = False
) -> Select[Any]:
    """The memberships the run's enrollments make: (*leading, class id, person id, role),
    `ordered` by class and person."""
    e = StageEnrollment
    kc, kp = keys.classes.c, keys.people.c
    # Staged lower-cased. PostgreSQL estimated `lower(role) IN (…)` alone at 2.5% of the rows
    # (a default for an expression without statistics), planned nested loops and took 2.8 s
    # to build the 510,000 memberships of a 100,000-student district; the column's own
    # statistics make the `OR` near 100%, and `lower` still reads the rows of a run staged
    # before roles were lower-cased and approved after an upgrade.
    role = or_(e.role.in_(MEMBER_ROLES), func.lower(e.role).in_(MEMBER_ROLES))
    return (
        # A member's role is their kind: Membership.role is `student` or `educator`.
        select(*leading, kc.entity_id, kp.entity_id, func.min(kp.kind))
        .select_from(e)
        .join(keys.classes, and_(kc.sourced_id == e.class_sourced_id, kc.member))
        .join(keys.people, and_(kp.sourced_id == e.user_sourced_id, kp.member))
        .where(e.run_id == ctx.run_id, _active(e.status), role)
        .group_by(kc.entity_id, kp.entity_id)
        .order_by(*((kc.entity_id, kp.entity_id) if ordered else ()))
    )


def _class_ranges(class_ids: Sequence[_Id]) -> Iterator[tuple[_Id, _Id]]:
    """The first and last of each `CLASS_BATCH` of sorted class ids: the memberships of a
    large district are read a range of classes at a time (read at once, millions of them
    held more than a gigabyte)."""
    for part in parts(class_ids, CLASS_BATCH):
        yield part[0], part[-1]


def _first_memberships(ctx: RunContext, keys: EnrollmentKeys) -> None:
    """An organization's first run (no person, so no membership, before it): all it sends is
    added, nothing is removed or taken over from a hand-made one. Written by one
    `INSERT … SELECT` instead of going through `sync_members` and back, and logged by another
    (R23)."""
    session = ctx.session
    m = table_of(Membership)
    now = utcnow()
    sent = sent_memberships(
        ctx,
        keys,
        literal(ctx.org.id, m.c.org_id.type),
        literal("sis", m.c.source.type),
        literal(now, m.c.created_at.type),
        # In the order of the table's key: PostgreSQL adds each key at the end of its index
        # instead of at random places of it.
        ordered=True,
    )
    columns = ["org_id", "source", "created_at", "class_id", "person_id", "role"]
    with indexes_built_after(session, m):
        written = session.execute(
            insert(m)
            .from_select(columns, sent)
            # SQLAlchemy keeps an INSERT's row count only when asked (psycopg's, not SQLite's).
            .execution_options(preserve_rowcount=True)
        )
    ctx.members_sent = written.rowcount  # type: ignore[attr-defined]
    if ctx.members_sent:
        ctx.counts["enrollments"]["added"] += ctx.members_sent
        # PostgreSQL planned the log from a table it believed empty: a nested loop looking
        # up each of 510,000 members' person and class one by one (3.8 s at 100,000).
        analyze(ctx, Membership)
        ctx.log.add_from(first_members_log(session, org_id=ctx.org.id, run_id=ctx.run_id, now=now))


def first_members_log(session: Session, *, org_id: int, run_id: int, now: Any) -> Select[Any]:
    """R23: the change rows of a first run's memberships, one per class and role naming its
    members (as `_log_members` writes them), built by the database from the rows just
    written: 510,000 members of 100,000 students read back, named and encoded one by one
    were a third of the memberships step."""
    m, p, c = table_of(Membership), table_of(Person), table_of(Class)
    k = SyncKey
    classes = select(k.entity_id).where(
        k.run_id == run_id, k.kind == "class", k.state.in_(_RESOLVED)
    )
    members = (
        select(
            m.c.class_id,
            m.c.role,
            c.c.external_id.label("class_ref"),
            p.c.id,
            p.c.external_id,
            p.c.first_name,
            p.c.last_name,
        )
        .join(p, p.c.id == m.c.person_id)
        .join(c, c.c.id == m.c.class_id)
        .where(
            # The run's classes, by the table's key (not every organization's memberships).
            m.c.class_id.in_(classes),
            m.c.org_id == org_id,
            # Only the rows written above, whatever a person adds meanwhile (PostgreSQL).
            m.c.source == "sis",
            m.c.created_at == now,
        )
        .subquery()
    )
    member = json_object(
        id=json_string(session, members.c.id),
        sourced_id=json_string(session, members.c.external_id),
        name=json_string(session, members.c.first_name + " " + members.c.last_name),
    )
    lists = json_lists(
        session,
        members,
        key="class_id",
        split="role",
        parts=sorted(_FIELD),
        carried="class_ref",
        item=member,
        # The memberships' primary key (class_id, person_id) is read in its order.
        order=members.c.id,
    ).subquery()
    field = case(*((lists.c.role == role, name) for role, name in _FIELD.items()))
    return select(
        literal("class").label("entity_kind"),
        lists.c.class_id.label("entity_id"),
        lists.c.class_ref.label("entity_ref"),
        literal("members_added").label("action"),
        field.label("field"),
        lists.c.listed.label("new"),
    ).order_by(lists.c.class_id, lists.c.role)


def apply_memberships(ctx: RunContext) -> None:
    """R15: the members of the run's `sis` classes become exactly what the SIS sends."""
    session = ctx.session
    analyze(ctx, SyncKey, Membership, Person, Class)
    with enrollment_keys(ctx) as keys:
        _unresolved_enrollments(ctx, keys)
        if ctx.first:
            _first_memberships(ctx, keys)
            return
        written = session.execute(
            insert(SyncMember)
            .from_select(
                ["run_id", "class_id", "person_id", "role"],
                sent_memberships(ctx, keys, literal(ctx.run_id)),
            )
            .execution_options(preserve_rowcount=True)
        )
    ctx.members_sent = written.rowcount  # type: ignore[attr-defined]
    analyze(ctx, SyncMember)
    added = (
        select(SyncMember.class_id, SyncMember.person_id, SyncMember.role)
        .where(
            SyncMember.run_id == ctx.run_id,
            ~exists().where(
                Membership.class_id == SyncMember.class_id,
                Membership.person_id == SyncMember.person_id,
            ),
        )
        .order_by(SyncMember.class_id, SyncMember.role, SyncMember.person_id)
    )
    class_ids = session.scalars(
        select(SyncMember.class_id)
        .where(SyncMember.run_id == ctx.run_id)
        .distinct()
        .order_by(SyncMember.class_id)
    ).all()
    now = utcnow()
    for first, last in _class_ranges(class_ids):
        to_add = session.execute(added.where(SyncMember.class_id.between(first, last))).all()
        _log_members(ctx, to_add, added=True)
        # Only the added ones, read above for the log: not an INSERT … SELECT of every sent
        # membership ON CONFLICT DO NOTHING (510,000 key checks at 100,000 students), nor an
        # anti-join against the table being filled (PostgreSQL plans it, on a first sync, as
        # a nested loop rescanning the rows the statement adds: quadratic).
        bulk_insert(
            session,
            table_of(Membership),
            ["class_id", "person_id", "role"],
            to_add,
            constants={"org_id": ctx.org.id, "source": "sis", "created_at": now},
        )
    session.execute(claim_members(ctx.run_id))
    removed = _removed_members(ctx)
    _log_members(ctx, removed, added=False)
    if removed:
        members = table_of(Membership)
        session.execute(
            members.delete().where(
                members.c.class_id == bindparam("c"), members.c.person_id == bindparam("p")
            ),
            [{"c": c, "p": p} for c, p, _ in removed],
        )


def claim_members(run_id: int) -> Update:
    """R15: the memberships made by hand that the run sends become the SIS's. Found through
    the small partial index of hand-made memberships, not by reading all of them."""
    sent = exists().where(
        SyncMember.run_id == run_id,
        SyncMember.class_id == Membership.class_id,
        SyncMember.person_id == Membership.person_id,
    )
    return update(Membership).where(Membership.source == "manual", sent).values(source="sis")


def _removed_members(ctx: RunContext) -> list[Any]:
    """The memberships the run removes: in a full run, those of its classes it did not send;
    in a delta, those it sends `tobedeleted` and does not send again (another line of the
    same class and person keeps it, as for products)."""
    held = aliased(SyncKey)
    m = Membership
    not_held = ~exists().where(
        held.run_id == ctx.run_id,
        held.kind == "person",
        held.entity_id == m.person_id,
        held.state == "held",
    )
    not_sent = ~exists().where(
        SyncMember.run_id == ctx.run_id,
        SyncMember.class_id == m.class_id,
        SyncMember.person_id == m.person_id,
    )
    sis_class = and_(Class.id == m.class_id, Class.origin == "sis", Class.status == "active")
    if ctx.full:
        k = aliased(SyncKey)
        query = (
            select(m.class_id, m.person_id, m.role)
            .join(k, and_(k.run_id == ctx.run_id, k.kind == "class", k.entity_id == m.class_id))
            .join(Class, sis_class)
            .where(k.state == "applied", not_held, not_sent)
        )
    else:
        # From the few `tobedeleted` rows, not from every membership of the classes named.
        e = StageEnrollment
        kc, on_class = _key(ctx, "class", e.class_sourced_id)
        kp, on_person = _key(ctx, "person", e.user_sourced_id)
        query = (
            select(m.class_id, m.person_id, m.role)
            .select_from(e)
            .join(kc, on_class)
            .join(kp, on_person)
            .join(m, and_(m.class_id == kc.entity_id, m.person_id == kp.entity_id))
            .join(Class, sis_class)
            .where(e.run_id == ctx.run_id, e.status == "tobedeleted", not_held, not_sent)
        )
    return list(ctx.session.execute(query.distinct().order_by(m.class_id, m.person_id)).all())


def _unresolved_enrollments(ctx: RunContext, keys: EnrollmentKeys) -> None:
    e = StageEnrollment
    kc, kp = keys.classes.c, keys.people.c
    rows = ctx.session.execute(
        select(e.line, e.class_sourced_id, e.user_sourced_id, kc.sourced_id, kp.sourced_id)
        .select_from(e)
        .outerjoin(keys.classes, kc.sourced_id == e.class_sourced_id)
        .outerjoin(keys.people, kp.sourced_id == e.user_sourced_id)
        .where(e.run_id == ctx.run_id, or_(kc.sourced_id.is_(None), kp.sourced_id.is_(None)))
        .order_by(e.line)
        .limit(MAX_REFERENCE_ERRORS)
    ).all()
    classes = [(r[0], "classSourcedId", r[1]) for r in rows if r[3] is None]
    people = [(r[0], "userSourcedId", r[2]) for r in rows if r[3] is not None and r[4] is None]
    _report_unresolved(ctx, "enrollments.csv", classes, "class")
    _report_unresolved(ctx, "enrollments.csv", people, "user")


# Ids per `IN (...)`: PostgreSQL takes at most 65,535 parameters in one statement, and a
# first sync of a large district logs members of some 200,000 classes.
IN_LIST = 5000


def _refs(ctx: RunContext, class_ids: set[int]) -> dict[int, str | None]:
    """The SIS ids of classes, for the change log."""
    refs: dict[int, str | None] = {}
    for part in parts(list(class_ids), IN_LIST):
        query = select(Class.id, Class.external_id).where(any_of(ctx.session, Class.id, part))
        refs.update((class_id, ref) for class_id, ref in ctx.session.execute(query))
    return refs


def _log_members(ctx: RunContext, rows: Sequence[Any], *, added: bool) -> None:
    if not rows:
        return
    names: dict[int, tuple[str, str | None]] = {}
    for part in parts(list({r[1] for r in rows}), IN_LIST):
        for pid, first, last, ref in ctx.session.execute(
            select(Person.id, Person.first_name, Person.last_name, Person.external_id).where(
                any_of(ctx.session, Person.id, part)
            )
        ):
            names[pid] = (f"{first} {last}", ref)
    refs = _refs(ctx, {r[0] for r in rows})
    for (class_id, role), group in groupby(rows, key=lambda r: (r[0], r[2])):
        members = [
            {"id": str(pid), "sourced_id": names[pid][1], "name": names[pid][0]}
            for _, pid, _ in group
        ]
        what = "enrollments"
        ctx.counts[what]["added" if added else "removed"] += len(members)
        ctx.log.add(
            "class",
            class_id,
            "members_added" if added else "members_removed",
            ref=refs.get(class_id),
            field_name=_FIELD[role],
            old=None if added else members,
            new=members if added else None,
        )


def apply_products(ctx: RunContext) -> None:
    """R14: products the SIS sends are associated at every run; its own it stops sending go."""
    session = ctx.session
    analyze(ctx, ClassProduct, Class)
    products = _products_of_resources(ctx)
    cr = StageClassResource
    kc, on_class = _key(ctx, "class", cr.class_sourced_id, ("applied", "ref"))
    # Several resources may name one product (a SIS with a resource per edition or per
    # school): each product's classes are gathered over all of them in one statement.
    resources_of: dict[str, list[str]] = {}
    for resource, product in products.items():
        resources_of.setdefault(product, []).append(resource)
    for product, resources in resources_of.items():
        session.execute(
            insert(SyncProduct).from_select(
                ["run_id", "class_id", "product"],
                select(literal(ctx.run_id), kc.entity_id, literal(product))
                .select_from(cr)
                .join(kc, on_class)
                .join(
                    Class,
                    and_(Class.id == kc.entity_id, Class.origin == "sis", Class.status == "active"),
                )
                .where(
                    cr.run_id == ctx.run_id,
                    cr.resource_sourced_id.in_(resources),
                    _active(cr.status),
                )
                .distinct(),
            )
        )
    any_class, on_any = _key(ctx, "class", cr.class_sourced_id, _KNOWN_CLASS)
    unknown = ctx.session.execute(
        select(cr.line, cr.class_sourced_id)
        .outerjoin(any_class, on_any)
        .where(cr.run_id == ctx.run_id, any_class.sourced_id.is_(None))
        .order_by(cr.line)
        .limit(MAX_REFERENCE_ERRORS)
    ).all()
    _report_unresolved(
        ctx, "classResources.csv", [(r[0], "classSourcedId", r[1]) for r in unknown], "class"
    )
    link = and_(
        ClassProduct.class_id == SyncProduct.class_id, ClassProduct.product == SyncProduct.product
    )
    to_add = session.execute(
        select(SyncProduct.class_id, SyncProduct.product)
        .where(SyncProduct.run_id == ctx.run_id, ~exists().where(link))
        .order_by(SyncProduct.class_id)
    ).all()
    now = utcnow()
    if to_add:
        # COPY on PostgreSQL: an INSERT a row was 4.2 s of a first sync of 1,000,000.
        bulk_insert(
            session,
            table_of(ClassProduct),
            ["class_id", "product"],
            to_add,
            constants={"org_id": ctx.org.id, "source": "sis", "created_at": now},
        )
    session.execute(
        update(ClassProduct)
        .where(
            ClassProduct.source == "manual", exists().where(SyncProduct.run_id == ctx.run_id, link)
        )
        .values(source="sis")
    )
    to_remove = _removed_products(ctx, products)
    for class_id, product in to_remove:
        session.execute(
            delete(ClassProduct).where(
                ClassProduct.class_id == class_id, ClassProduct.product == product
            )
        )
    refs = _refs(ctx, {r[0] for r in [*to_add, *to_remove]})
    for class_id, product in to_add:
        ctx.counts["class_products"]["added"] += 1
        ctx.log.add(
            "class",
            class_id,
            "product_added",
            ref=refs.get(class_id),
            field_name="products",
            new={"code": product, "source": "sis"},
        )
    for class_id, product in to_remove:
        ctx.counts["class_products"]["removed"] += 1
        ctx.log.add(
            "class",
            class_id,
            "product_removed",
            ref=refs.get(class_id),
            field_name="products",
            old={"code": product, "source": "sis"},
        )


def _products_of_resources(ctx: RunContext) -> dict[str, str]:
    """resources.csv: each resource's product code; others are warned about once."""
    found: dict[str, str] = {}
    rows = ctx.session.execute(
        select(StageResource.line, StageResource.sourced_id, StageResource.vendor_resource_id)
        .where(StageResource.run_id == ctx.run_id)
        .order_by(StageResource.line)
    )
    codes = {code.casefold(): code for code in ctx.catalogue.products}
    for line, sourced_id, vendor_id in rows:
        code = codes.get(vendor_id.strip().casefold())
        if code is None:
            message = (
                f"resources.csv line {line}, column vendorResourceId: {vendor_id!r} is not a "
                f"product of the catalogue ({', '.join(ctx.catalogue.products)}); "
                "classes using it get no product"
            )
            record_issue(
                ctx,
                Issue(
                    "resources.csv",
                    line,
                    "vendorResourceId",
                    "unknown_product",
                    message,
                    sourced_id,
                    "warning",
                ),
            )
            continue
        found[sourced_id] = code
    return found


def _removed_products(ctx: RunContext, products: dict[str, str]) -> list[Any]:
    k = aliased(SyncKey)
    query = (
        select(ClassProduct.class_id, ClassProduct.product)
        .join(
            k, and_(k.run_id == ctx.run_id, k.kind == "class", k.entity_id == ClassProduct.class_id)
        )
        .join(
            Class,
            and_(
                Class.id == ClassProduct.class_id, Class.origin == "sis", Class.status == "active"
            ),
        )
        .where(ClassProduct.source == "sis")
    )
    if ctx.full:
        query = query.where(
            k.state == "applied",
            ~exists().where(
                SyncProduct.run_id == ctx.run_id,
                SyncProduct.class_id == ClassProduct.class_id,
                SyncProduct.product == ClassProduct.product,
            ),
        )
    else:
        cr = StageClassResource
        stopped = select(cr.run_id).where(cr.run_id == ctx.run_id, cr.status == "tobedeleted")
        if ctx.session.execute(stopped.limit(1)).first() is None:
            # A delta without a `tobedeleted` class resource removes none: not asked of
            # every class product the run's classes hold (a second at 1,000,000 students on
            # PostgreSQL, for a run read by its changes, which never stages one).
            return []
        conditions = [
            and_(
                ClassProduct.product == product,
                exists().where(
                    cr.run_id == ctx.run_id,
                    cr.status == "tobedeleted",
                    cr.resource_sourced_id == resource,
                    cr.class_sourced_id == k.sourced_id,
                ),
            )
            for resource, product in products.items()
        ]
        if not conditions:
            return []
        # A product one resource stops while another of the same product sends it stays.
        sent = exists().where(
            SyncProduct.run_id == ctx.run_id,
            SyncProduct.class_id == ClassProduct.class_id,
            SyncProduct.product == ClassProduct.product,
        )
        query = query.where(k.state.in_(_RESOLVED), or_(*conditions), ~sent)
    return list(ctx.session.execute(query.distinct().order_by(ClassProduct.class_id)).all())
