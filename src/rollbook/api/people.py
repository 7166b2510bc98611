"""Students and educators: the same routes for both kinds (interfaces.md, REST API)."""

# No `from __future__ import annotations` here: the routes are built per kind, and FastAPI
# must see the body types of the closure, not their names.

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from rollbook.api import schemas
from rollbook.api.deps import ReadCtx, TurnRoute, WriteCtx, etag, guard, parse_if_match
from rollbook.services import history, memberships, people
from rollbook.services.people import WRITE_ACTION as _WRITE
from rollbook.services.people import PersonKind
from rollbook.services.views import FieldsBlock, encode, person_view
from rollbook.store.paging import MAX_LIMIT

IfMatch = Annotated[str | None, Header(alias="If-Match")]


def entity_response(view: dict[str, Any], *, status: int = 200) -> JSONResponse:
    return JSONResponse(view, status_code=status, headers=etag(view["version"]))


def page_response(items: list[dict[str, Any]], next_cursor: str | None) -> Response:
    """A page of views, sent as built: the route's `response_model` documents it, and
    checking 50 views against it again took a third of the server's time under load
    (bench/load.py; the views are the one definition, services/views.py). The `fields`
    blocks the entities share are encoded once each (FieldsBlock.json): encoding them for
    every entity was the largest single cost of a list (bench.requests)."""
    parts = []
    for item in items:
        block = item.get("fields")
        if isinstance(block, FieldsBlock) and len(item) > 1:
            rest = encode({name: value for name, value in item.items() if name != "fields"})
            parts.append(f'{rest[:-1]},"fields":{block.json}}}')
        else:
            parts.append(encode(item))
    body = f'{{"items":[{",".join(parts)}],"next_cursor":{encode(next_cursor)}}}'
    return Response(body.encode(), media_type="application/json")


def people_router(
    kind: PersonKind,
    *,
    plural: str,
    body_in: type[schemas.Strict],
    body_patch: type[schemas.Strict],
    out: type[BaseModel],
    page: type[BaseModel],
) -> APIRouter:
    """The list, read, create, edit, deactivate, classes and history routes of one kind."""
    router = APIRouter(
        route_class=TurnRoute,
        prefix=f"/orgs/{{org}}/{plural}",
        tags=[plural],
        responses=schemas.ERRORS,
    )

    @router.get("", response_model=page, operation_id=f"list_{plural}")
    def list_(
        ctx: ReadCtx,
        q: str | None = None,
        school_id: str | None = None,
        origin: str | None = None,
        status: str = "active",
        limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
        cursor: str | None = None,
    ) -> Response:
        found, schools = people.list_people(
            ctx.session,
            actor=ctx.actor,
            org=ctx.org,
            kind=kind,
            q=q,
            school_id=school_id,
            origin=origin,
            status=status,
            limit=limit,
            cursor=cursor,
        )
        items = [person_view(p, schools.get(p.id, [])) for p in found.items]
        return page_response(items, found.next_cursor)

    write = [guard(_WRITE[kind])]

    @router.post(
        "", status_code=201, response_model=out, operation_id=f"create_{kind}", dependencies=write
    )
    def create(ctx: WriteCtx, body: body_in) -> JSONResponse:  # type: ignore[valid-type]
        loaded = people.create(
            ctx.session,
            actor=ctx.actor,
            org=ctx.org,
            kind=kind,
            data=body.model_dump(exclude_unset=True),  # type: ignore[attr-defined]
        )
        ctx.session.commit()
        return entity_response(person_view(loaded.person, loaded.school_ids), status=201)

    @router.get("/{person_id}", response_model=out, operation_id=f"get_{kind}")
    def get(ctx: ReadCtx, person_id: str) -> JSONResponse:
        loaded = people.load(
            ctx.session, actor=ctx.actor, org=ctx.org, kind=kind, person_id=person_id
        )
        return entity_response(person_view(loaded.person, loaded.school_ids))

    @router.patch(
        "/{person_id}", response_model=out, operation_id=f"update_{kind}", dependencies=write
    )
    def update(
        ctx: WriteCtx,
        person_id: str,
        body: body_patch,  # type: ignore[valid-type]
        if_match: IfMatch = None,
    ) -> JSONResponse:
        loaded, warnings = people.update(
            ctx.session,
            actor=ctx.actor,
            org=ctx.org,
            kind=kind,
            person_id=person_id,
            data=body.model_dump(exclude_unset=True),  # type: ignore[attr-defined]
            if_match=parse_if_match(if_match),
        )
        ctx.session.commit()
        view = person_view(loaded.person, loaded.school_ids)
        return entity_response({**view, "warnings": warnings})

    @router.delete(
        "/{person_id}", status_code=204, operation_id=f"deactivate_{kind}", dependencies=write
    )
    def deactivate(ctx: WriteCtx, person_id: str) -> Response:
        people.deactivate(ctx.session, actor=ctx.actor, org=ctx.org, kind=kind, person_id=person_id)
        ctx.session.commit()
        return Response(status_code=204)

    @router.get(
        "/{person_id}/classes",
        response_model=schemas.PersonClassPage,
        operation_id=f"classes_of_{kind}",
    )
    def classes(
        ctx: ReadCtx,
        person_id: str,
        limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
        cursor: str | None = None,
    ) -> Response:
        found = memberships.classes_of(
            ctx.session,
            actor=ctx.actor,
            org=ctx.org,
            kind=kind,
            person_id=person_id,
            limit=limit,
            cursor=cursor,
        )
        return page_response(found.items, found.next_cursor)

    @router.get(
        "/{person_id}/history",
        response_model=schemas.HistoryPage,
        operation_id=f"history_of_{kind}",
    )
    def history_(
        ctx: ReadCtx,
        person_id: str,
        limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        loaded = people.load(
            ctx.session, actor=ctx.actor, org=ctx.org, kind=kind, person_id=person_id
        )
        found = history.entity_history(
            ctx.session,
            org_id=ctx.org.id,
            entity_kind=kind,
            entity_id=loaded.person.id,
            limit=limit,
            cursor=cursor,
        )
        return {
            "items": [history.change_view(c) for c in found.items],
            "next_cursor": found.next_cursor,
        }

    return router


students = people_router(
    "student",
    plural="students",
    body_in=schemas.StudentIn,
    body_patch=schemas.StudentPatch,
    out=schemas.StudentOut,
    page=schemas.StudentPage,
)
educators = people_router(
    "educator",
    plural="educators",
    body_in=schemas.EducatorIn,
    body_patch=schemas.EducatorPatch,
    out=schemas.EducatorOut,
    page=schemas.EducatorPage,
)
