"""Small factories: an organization per test, accounts with tokens, and entities.

Manual entities are made through the API like a user would; `sis` entities are written
straight into the store, the way the sync leaves them.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.testclient import TestClient

from rollbook.domain.fields import EntityKind, mask_of
from rollbook.domain.permissions import Actor
from rollbook.domain.values import username_key
from rollbook.services import auth, orgs
from rollbook.store import people as people_store
from rollbook.store.db import Database
from rollbook.store.models import Class, ClassProduct, Membership, Org, Person, ProductSetting

_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


@dataclass
class Api:
    """An HTTP client of the real ASGI app, signed in with one credential."""

    client: TestClient
    token: str | None
    slug: str

    def url(self, path: str) -> str:
        if path.startswith("/"):
            return path
        base = f"/api/v1/orgs/{self.slug}"
        return f"{base}/{path}" if path else base

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = self.headers(kwargs.pop("headers", None))
        return self.client.request(method, self.url(path), headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        """A request that must succeed; returns its JSON body (None for 204)."""
        response = self.request(method, path, **kwargs)
        assert response.status_code == status, (response.status_code, response.text)
        return response.json() if response.content else None


@dataclass
class Account:
    person_id: str
    api: Api
    username: str


@dataclass
class Roster:
    """One test's organization, with the means to fill it and call the API."""

    db: Database
    client: TestClient
    org: Org
    schools: list[str] = field(default_factory=list)

    @classmethod
    def new(cls, db: Database, client: TestClient) -> Roster:
        slug = f"t-{uuid.uuid4().hex[:12]}"
        with db.writing() as session:
            org = orgs.create_org(
                session, actor=None, slug=slug, name=f"District {slug}", threshold_percent=None
            )
        return cls(db=db, client=client, org=org)

    @property
    def slug(self) -> str:
        return self.org.slug

    def anonymous(self) -> Api:
        return Api(self.client, None, self.slug)

    def school(self, name: str | None = None, external_id: str | None = None) -> str:
        with self.db.writing() as session:
            school = orgs.create_school(
                session,
                actor=None,
                org=self.org,
                name=name or unique("School "),
                external_id=external_id,
            )
        self.schools.append(str(school.id))
        return str(school.id)

    def educator(
        self,
        *,
        role: str = "teacher",
        scope: str | None = None,
        school_ids: list[str] | None = None,
        origin: str = "manual",
        password: str | None = None,
        **values: Any,
    ) -> Account:
        """An educator account with a token (the password, if given, is real Argon2)."""
        username = values.pop("username", unique("educator"))
        if school_ids is None and scope != "district":
            school_ids = [self.schools[0] if self.schools else self.school()]
        person = self._person(
            "educator",
            origin=origin,
            username=username,
            first_name=values.pop("first_name", "Ed"),
            last_name=values.pop("last_name", unique("Ucator")),
            role=role,
            admin_scope=scope if role == "administrator" else None,
            school_ids=school_ids or [],
            **values,
        )
        with self.db.writing() as session:
            if password is not None:
                auth.set_password(
                    session, person=session.get(Person, int(person)), password=password
                )
            token = auth.issue_token(session, "educator", int(person), self.org.id, 3600).token
        return Account(person, Api(self.client, token, self.slug), username)

    def teacher(self, school_ids: list[str] | None = None, **values: Any) -> Account:
        return self.educator(role="teacher", school_ids=school_ids, **values)

    def school_admin(self, school_ids: list[str] | None = None, **values: Any) -> Account:
        return self.educator(role="administrator", scope="school", school_ids=school_ids, **values)

    def district_admin(self, **values: Any) -> Account:
        return self.educator(role="administrator", scope="district", school_ids=[], **values)

    def api_key(self) -> Api:
        with self.db.writing() as session:
            key = auth.create_api_key(session, org=self.org, name="test key")
        return Api(self.client, key, self.slug)

    def operator(self) -> Api:
        with self.db.writing() as session:
            key = auth.create_api_key(session, org=None, name="test operator")
        return Api(self.client, key, self.slug)

    def _person(
        self,
        kind: str,
        *,
        origin: str,
        school_ids: list[str],
        sent: tuple[str, ...] | None = None,
        **values: Any,
    ) -> str:
        """Write a person straight into the store. `sent`: fields the SIS sends (sis only)."""
        values.setdefault("status", "active")
        with self.db.writing() as session:
            person = Person(org_id=self.org.id, kind=kind, origin=origin, **values)
            person.username_key = username_key(person.username)
            person.sort_key = f"{person.last_name.casefold()} {person.first_name.casefold()}"
            person.first_key = f"{person.first_name.casefold()} {person.last_name.casefold()}"
            present = [k for k, v in values.items() if v not in (None, "")] + ["school_ids"]
            if origin == "sis":
                sent_fields = present if sent is None else [*sent, "status", "school_ids"]
                person.sis_mask = mask_of(kind, sent_fields)  # type: ignore[arg-type]
            else:
                person.manual_mask = mask_of(kind, present)  # type: ignore[arg-type]
            session.add(person)
            session.flush()
            people_store.set_schools(
                session, person=person, school_ids=[int(s) for s in school_ids]
            )
            return str(person.id)

    def sis_student(self, *, sent: tuple[str, ...] | None = None, **values: Any) -> str:
        """A synced student, as the sync leaves one (every given field sent unless `sent`)."""
        school_ids = values.pop("school_ids", None) or [
            self.schools[0] if self.schools else self.school()
        ]
        values.setdefault("username", unique("sis.student"))
        values.setdefault("first_name", "Sis")
        values.setdefault("last_name", unique("Student"))
        values.setdefault("external_id", unique("SIS-"))
        return self._person("student", origin="sis", school_ids=school_ids, sent=sent, **values)

    def sis_educator(self, **values: Any) -> str:
        school_ids = values.pop("school_ids", None) or [
            self.schools[0] if self.schools else self.school()
        ]
        values.setdefault("username", unique("sis.teacher"))
        values.setdefault("first_name", "Sis")
        values.setdefault("last_name", unique("Teacher"))
        values.setdefault("external_id", unique("SIS-T-"))
        values.setdefault("role", "teacher")
        return self._person("educator", origin="sis", school_ids=school_ids, **values)

    def sis_class(self, *, members: list[str] = (), products: list[str] = (), **values: Any) -> str:  # type: ignore[assignment]
        """A synced class with SIS memberships and SIS product associations."""
        school_id = values.pop("school_id", None) or (
            self.schools[0] if self.schools else self.school()
        )
        values.setdefault("name", unique("SIS Class "))
        values.setdefault("external_id", unique("CLS-"))
        with self.db.writing() as session:
            klass = Class(
                org_id=self.org.id,
                origin="sis",
                school_id=int(school_id),
                kind="class",
                status="active",
                **values,
            )
            klass.name_key = klass.name.casefold()
            klass.grades = values.get("grades", [])
            klass.subjects = values.get("subjects", [])
            klass.periods = values.get("periods", [])
            sent: list[EntityKind] = [k for k, v in values.items() if v not in (None, "", [])]  # type: ignore[misc]
            klass.sis_mask = mask_of("class", [*sent, "status", "school_id", "kind"])
            session.add(klass)
            session.flush()
            for person_id in members:
                person = session.get(Person, int(person_id))
                role = "student" if person.kind == "student" else "educator"
                session.add(
                    Membership(
                        org_id=self.org.id,
                        class_id=klass.id,
                        person_id=int(person_id),
                        role=role,
                        source="sis",
                    )
                )
            for code in products:
                session.add(
                    ClassProduct(org_id=self.org.id, class_id=klass.id, product=code, source="sis")
                )
            return str(klass.id)

    def sis_setting(self, student_id: str, product: str, setting: str, value: Any) -> None:
        """A product setting the SIS sends (R16)."""
        with self.db.writing() as session:
            session.add(
                ProductSetting(
                    org_id=self.org.id,
                    person_id=int(student_id),
                    product=product,
                    setting=setting,
                    value=value,
                    source="sis",
                    sis_sends=True,
                )
            )

    def actor(self) -> Actor:
        return Actor("operator", "test", "test", None, role="operator")
