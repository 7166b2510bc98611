"""Classes and groups, their members and their products (interfaces.md, REST API)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from rollbook.api import schemas
from rollbook.api.deps import CatalogueDep, ReadCtx, TurnRoute, WriteCtx, guard, parse_if_match
from rollbook.api.people import IfMatch, entity_response, page_response
from rollbook.services import classes, history, memberships, products
from rollbook.services.memberships import MemberRole
from rollbook.services.views import class_view, person_view
from rollbook.store import people as people_store
from rollbook.store.paging import MAX_LIMIT

router = APIRouter(
    route_class=TurnRoute, prefix="/orgs/{org}/classes", tags=["classes"], responses=schemas.ERRORS
)
Limit = Annotated[int | None, Query(ge=1, le=MAX_LIMIT)]
WRITE = [guard("classes.write")]


@router.get("", response_model=schemas.ClassPage, operation_id="list_classes")
def list_classes(
    ctx: ReadCtx,
    q: str | None = None,
    school_id: str | None = None,
    origin: str | None = None,
    status: str = "active",
    kind: str | None = None,
    limit: Limit = None,
    cursor: str | None = None,
) -> Response:
    found = classes.list_classes(
        ctx.session,
        actor=ctx.actor,
        org=ctx.org,
        q=q,
        school_id=school_id,
        origin=origin,
        status=status,
        kind=kind,
        limit=limit,
        cursor=cursor,
    )
    return page_response([class_view(c) for c in found.items], found.next_cursor)


@router.post(
    "",
    status_code=201,
    response_model=schemas.ClassOut,
    operation_id="create_class",
    dependencies=WRITE,
)
def create_class(ctx: WriteCtx, body: schemas.ClassIn) -> JSONResponse:
    klass = classes.create(
        ctx.session, actor=ctx.actor, org=ctx.org, data=body.model_dump(exclude_unset=True)
    )
    ctx.session.commit()
    return entity_response(class_view(klass), status=201)


@router.get("/{class_id}", response_model=schemas.ClassOut, operation_id="get_class")
def get_class(ctx: ReadCtx, class_id: str) -> JSONResponse:
    klass = classes.load(ctx.session, actor=ctx.actor, org=ctx.org, class_id=class_id)
    return entity_response(class_view(klass))


@router.patch(
    "/{class_id}", response_model=schemas.ClassOut, operation_id="update_class", dependencies=WRITE
)
def update_class(
    ctx: WriteCtx, class_id: str, body: schemas.ClassPatch, if_match: IfMatch = None
) -> JSONResponse:
    klass = classes.update(
        ctx.session,
        actor=ctx.actor,
        org=ctx.org,
        class_id=class_id,
        data=body.model_dump(exclude_unset=True),
        if_match=parse_if_match(if_match),
    )
    ctx.session.commit()
    return entity_response({**class_view(klass), "warnings": []})


@router.delete("/{class_id}", status_code=204, operation_id="deactivate_class", dependencies=WRITE)
def deactivate_class(ctx: WriteCtx, class_id: str) -> Response:
    classes.deactivate(ctx.session, actor=ctx.actor, org=ctx.org, class_id=class_id)
    ctx.session.commit()
    return Response(status_code=204)


def _members_routes(role: MemberRole, plural: str, page: type[Any], out: type[Any]) -> None:
    @router.get(f"/{{class_id}}/{plural}", response_model=page, operation_id=f"class_{plural}")
    def list_members(
        ctx: ReadCtx, class_id: str, limit: Limit = None, cursor: str | None = None
    ) -> Response:
        found = memberships.list_members(
            ctx.session,
            actor=ctx.actor,
            org=ctx.org,
            class_id=class_id,
            role=role,
            limit=limit,
            cursor=cursor,
        )
        schools = people_store.school_ids_of(ctx.session, [p.id for p in found.items])
        items = [person_view(p, schools.get(p.id, [])) for p in found.items]
        return page_response(items, found.next_cursor)

    @router.put(
        f"/{{class_id}}/{plural}/{{person_id}}",
        response_model=out,
        operation_id=f"add_{role}",
        dependencies=WRITE,
    )
    def add_member(ctx: WriteCtx, class_id: str, person_id: str) -> JSONResponse:
        loaded = memberships.add(
            ctx.session,
            actor=ctx.actor,
            org=ctx.org,
            class_id=class_id,
            role=role,
            person_id=person_id,
        )
        ctx.session.commit()
        return entity_response(person_view(loaded.person, loaded.school_ids))

    @router.delete(
        f"/{{class_id}}/{plural}/{{person_id}}",
        status_code=204,
        operation_id=f"remove_{role}",
        dependencies=WRITE,
    )
    def remove_member(ctx: WriteCtx, class_id: str, person_id: str) -> Response:
        memberships.remove(
            ctx.session,
            actor=ctx.actor,
            org=ctx.org,
            class_id=class_id,
            role=role,
            person_id=person_id,
        )
        ctx.session.commit()
        return Response(status_code=204)


_members_routes("student", "students", schemas.StudentPage, schemas.StudentOut)
_members_routes("educator", "educators", schemas.EducatorPage, schemas.EducatorOut)


@router.get(
    "/{class_id}/products", response_model=schemas.ProductLinkPage, operation_id="class_products"
)
def list_products(ctx: ReadCtx, class_id: str, catalogue: CatalogueDep) -> dict[str, Any]:
    items = products.list_links(
        ctx.session, actor=ctx.actor, org=ctx.org, class_id=class_id, catalogue=catalogue
    )
    return {"items": items, "next_cursor": None}


@router.put(
    "/{class_id}/products/{code}",
    response_model=schemas.ProductLink,
    operation_id="add_product",
    dependencies=WRITE,
)
def add_product(ctx: WriteCtx, class_id: str, code: str, catalogue: CatalogueDep) -> dict[str, Any]:
    link = products.add_link(
        ctx.session, actor=ctx.actor, org=ctx.org, class_id=class_id, code=code, catalogue=catalogue
    )
    ctx.session.commit()
    return link


@router.delete(
    "/{class_id}/products/{code}",
    status_code=204,
    operation_id="remove_product",
    dependencies=WRITE,
)
def remove_product(ctx: WriteCtx, class_id: str, code: str, catalogue: CatalogueDep) -> Response:
    products.remove_link(
        ctx.session, actor=ctx.actor, org=ctx.org, class_id=class_id, code=code, catalogue=catalogue
    )
    ctx.session.commit()
    return Response(status_code=204)


@router.get(
    "/{class_id}/history", response_model=schemas.HistoryPage, operation_id="history_of_class"
)
def class_history(
    ctx: ReadCtx, class_id: str, limit: Limit = None, cursor: str | None = None
) -> dict[str, Any]:
    klass = classes.load(ctx.session, actor=ctx.actor, org=ctx.org, class_id=class_id)
    found = history.entity_history(
        ctx.session,
        org_id=ctx.org.id,
        entity_kind="class",
        entity_id=klass.id,
        limit=limit,
        cursor=cursor,
    )
    return {
        "items": [history.change_view(c) for c in found.items],
        "next_cursor": found.next_cursor,
    }
