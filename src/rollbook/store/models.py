"""The tables. Every table that holds roster data carries `org_id`, so that one
organization's rows can be partitioned or sharded by it.

Field provenance is kept in two bit masks per entity rather than a row per field:
`manual_mask` marks the fields whose current value came from a hand edit, `sis_mask` the
fields the last applied sync sent with a non-blank value (R11, R12). The bits are those of
`domain/fields.py`. `sis_hash` and `synced_version` let a sync recognise an entity that
neither the SIS nor a person has touched since the last run without comparing its fields.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeEngine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer, "sqlite")


def refers_to(target: str) -> dict[str, str]:
    """`info` of a column that holds the id of a row of `target` ("people.id") without a
    foreign-key constraint.

    The relation and history tables take millions of rows in a sync (five memberships a
    student), and on PostgreSQL a constraint checks each inserted row by a query of its own
    that also locks the row it finds: with the three of a membership, writing memberships
    took 4.2 times as long (docs/decisions.md, Sync, has the figures). The references hold
    without them: an organization, school, person or class is never deleted (R19
    deactivates), and every writer takes the ids it writes from rows it has just read or
    written in the same transaction. `store.integrity.dangling_references` checks them.
    """
    return {"references": target}


def Key(length: int) -> TypeEngine[str]:  # noqa: N802 - a column type, named like one
    """A search and ordering key (lower-cased names, usernames): compared byte by byte on
    both backends (SQLite's BINARY; PostgreSQL's "C" collation, whatever the database's), so
    that lists sort alike everywhere and a prefix is an index range (store/people.prefix_of)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


# One encoder for every stored JSON value: `json.dumps` with options builds a new encoder per
# call, which the sync paid for each of millions of staged rows.
_compact_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class JsonText(TypeDecorator[Any]):
    """A JSON value kept as compact text, so the sync can compare it as a string."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return _compact_json(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored and returned in UTC on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Org(Base):
    __tablename__ = "orgs"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    threshold_percent: Mapped[int] = mapped_column(Integer, default=10)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class School(Base):
    __tablename__ = "schools"
    __table_args__ = (Index("ix_schools_org_external", "org_id", "external_id", unique=True),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    origin: Mapped[str] = mapped_column(String(8), default="manual")
    status: Mapped[str] = mapped_column(String(8), default="active")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


# Rows made by hand (origin `manual`): the partial indexes below hold only these.
_MANUAL = text("origin = 'manual'")
_BY_HAND = text("source = 'manual'")


class _Tracked:
    """Columns shared by students, educators and classes: origin, status, provenance."""

    origin: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8), default="active")
    external_id: Mapped[str | None] = mapped_column(String(255))
    alt_external_id: Mapped[str | None] = mapped_column(String(255))
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    manual_mask: Mapped[int] = mapped_column(Integer, default=0)
    sis_mask: Mapped[int] = mapped_column(Integer, default=0)
    sis_hash: Mapped[str | None] = mapped_column(String(64))
    # The fingerprint of the staged rows the entity was last synced from (sync/fingerprint.py).
    sis_print: Mapped[str | None] = mapped_column(String(96))
    synced_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 - a class-level directive
        # Every ORM update checks and bumps `version` (If-Match, 412); the sync's set-based
        # updates bump it themselves.
        return {"version_id_col": cls.version}


class Person(_Tracked, Base):
    """A student or an educator: one table, so that usernames are unique across both (R10)."""

    __tablename__ = "people"
    __table_args__ = (
        Index("ix_people_org_username", "org_id", "username_key", unique=True),
        Index("ix_people_org_external", "org_id", "external_id"),
        Index("ix_people_org_alt_external", "org_id", "alt_external_id"),
        # In name order; with both search keys, so that a search arm reading a common prefix
        # in name order reads this index alone (store/people.list_people).
        Index(
            "ix_people_list",
            "org_id",
            "kind",
            "status",
            "sort_key",
            "id",
            "first_key",
            "username_key",
        ),
        # Prefix search by first name or username, in name order (store/people.list_people).
        Index("ix_people_first", "org_id", "kind", "status", "first_key", "sort_key", "id"),
        Index("ix_people_username", "org_id", "kind", "status", "username_key", "sort_key", "id"),
        # The hand-made ones, few: active `sis` people are all active ones less these.
        Index(
            "ix_people_manual",
            "org_id",
            "kind",
            "status",
            sqlite_where=_MANUAL,
            postgresql_where=_MANUAL,
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    kind: Mapped[str] = mapped_column(String(8))
    username: Mapped[str] = mapped_column(String(255))
    username_key: Mapped[str] = mapped_column(Key(255))
    first_name: Mapped[str] = mapped_column(String(255))
    last_name: Mapped[str] = mapped_column(String(255))
    middle_name: Mapped[str | None] = mapped_column(String(255))
    preferred_first_name: Mapped[str | None] = mapped_column(String(255))
    grade: Mapped[str | None] = mapped_column(String(8))
    email: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str | None] = mapped_column(String(16))
    admin_scope: Mapped[str | None] = mapped_column(String(8))
    # Lower-cased "last first" for ordering and prefix search.
    sort_key: Mapped[str] = mapped_column(Key(520))
    first_key: Mapped[str] = mapped_column(Key(255))


class PersonSchool(Base):
    __tablename__ = "person_schools"
    __table_args__ = (Index("ix_person_schools_school", "school_id", "person_id"),)

    person_id: Mapped[int] = mapped_column(Id, primary_key=True, info=refers_to("people.id"))
    school_id: Mapped[int] = mapped_column(Id, primary_key=True, info=refers_to("schools.id"))
    org_id: Mapped[int] = mapped_column(Id, info=refers_to("orgs.id"))


class Class(_Tracked, Base):
    """A class (from the SIS or by hand) or a group (by hand)."""

    __tablename__ = "classes"
    __table_args__ = (
        Index("ix_classes_org_external", "org_id", "external_id"),
        Index("ix_classes_org_alt_external", "org_id", "alt_external_id"),
        Index("ix_classes_list", "org_id", "status", "name_key", "id"),
        Index("ix_classes_school", "school_id"),
        Index(
            "ix_classes_manual", "org_id", "status", sqlite_where=_MANUAL, postgresql_where=_MANUAL
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    kind: Mapped[str] = mapped_column(String(8), default="class")
    name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str] = mapped_column(Key(255))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    grades: Mapped[list[str]] = mapped_column(JsonText, default=list)
    subjects: Mapped[list[str]] = mapped_column(JsonText, default=list)
    periods: Mapped[list[str]] = mapped_column(JsonText, default=list)


class Membership(Base):
    """A student or educator in a class; `source` says whether the SIS or a person put them."""

    __tablename__ = "memberships"
    __table_args__ = (
        Index("ix_memberships_person", "person_id", "class_id"),
        # The hand-made ones, few: a run that sends one makes it the SIS's (R15) without
        # reading the millions the SIS made.
        Index(
            "ix_memberships_manual",
            "class_id",
            "person_id",
            sqlite_where=_BY_HAND,
            postgresql_where=_BY_HAND,
        ),
    )

    class_id: Mapped[int] = mapped_column(Id, primary_key=True, info=refers_to("classes.id"))
    person_id: Mapped[int] = mapped_column(Id, primary_key=True, info=refers_to("people.id"))
    org_id: Mapped[int] = mapped_column(Id, info=refers_to("orgs.id"))
    role: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ClassProduct(Base):
    """R14: a product associated with a class, with the source of the association."""

    __tablename__ = "class_products"

    class_id: Mapped[int] = mapped_column(Id, primary_key=True, info=refers_to("classes.id"))
    product: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[int] = mapped_column(Id, index=True, info=refers_to("orgs.id"))
    source: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ProductSetting(Base):
    """R16: one setting of one product for one student, with its source (R11)."""

    __tablename__ = "product_settings"

    person_id: Mapped[int] = mapped_column(Id, primary_key=True, info=refers_to("people.id"))
    product: Mapped[str] = mapped_column(String(40), primary_key=True)
    setting: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[int] = mapped_column(Id, index=True, info=refers_to("orgs.id"))
    value: Mapped[Any] = mapped_column(JsonText, nullable=True)
    source: Mapped[str] = mapped_column(String(8))
    sis_sends: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Credential(Base):
    """A password for an educator who signs in; never part of a sync."""

    __tablename__ = "credentials"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Operator(Base):
    """A person who runs rollbook (R3)."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SignInAttempt(Base):
    """One sign-in attempt, kept a minute for the rate limit that every server process shares.
    `key` is a SHA-256 of the organization, username and address, not the values themselves."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (Index("ix_sign_in_attempts_key", "key", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class ApiKey(Base):
    """An API key, stored as a hash; `org_id` is null for an operator's key."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AccessToken(Base):
    """A signed-in session (API token or web session), stored as a hash, with an expiry."""

    __tablename__ = "access_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(8))
    subject_id: Mapped[int] = mapped_column(Id)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Change(Base):
    """R23: one recorded change, by hand or by a sync run (then `run_id` is set)."""

    __tablename__ = "changes"
    __table_args__ = (
        Index("ix_changes_entity", "org_id", "entity_kind", "entity_id", "id"),
        Index("ix_changes_run", "run_id", "id"),
        # Hand changes of an organization by time: "anything edited since the last sync?"
        Index(
            "ix_changes_hand",
            "org_id",
            "at",
            sqlite_where=text("run_id IS NULL"),
            postgresql_where=text("run_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int] = mapped_column(Id, info=refers_to("orgs.id"))
    run_id: Mapped[int | None] = mapped_column(Id)
    entity_kind: Mapped[str] = mapped_column(String(8))
    # Null in a preview for an entity the run would create; `entity_ref` is its SIS id.
    entity_id: Mapped[int | None] = mapped_column(Id)
    entity_ref: Mapped[str | None] = mapped_column(String(255))
    # A change a dry run or a held run would make: in its report, not in any history.
    preview: Mapped[bool] = mapped_column(Boolean, default=False)
    action: Mapped[str] = mapped_column(String(24))
    field: Mapped[str | None] = mapped_column(String(80))
    old: Mapped[Any] = mapped_column(JsonText, nullable=True)
    new: Mapped[Any] = mapped_column(JsonText, nullable=True)
    manual_edit_overwritten: Mapped[bool] = mapped_column(Boolean, default=False)
    actor_kind: Mapped[str] = mapped_column(String(8))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


def table_of(model: type[Base]) -> Table:
    """The Core table of a model, for set-based statements."""
    return cast(Table, model.__table__)
