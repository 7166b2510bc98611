"""Organizations, their schools and API keys (R3)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from rollbook.api import schemas
from rollbook.api.deps import (
    Credentials,
    ReadCtx,
    TurnRoute,
    WriteActor,
    WriteCtx,
    WriteSession,
    guard,
    guard_actor,
    read_session,
    signed_in,
)
from rollbook.domain.permissions import require
from rollbook.services import auth
from rollbook.services import orgs as service
from rollbook.store.models import Org

router = APIRouter(route_class=TurnRoute, tags=["organizations"], responses=schemas.ERRORS)


def org_view(org: Org) -> dict[str, Any]:
    return {
        "slug": org.slug,
        "name": org.name,
        "threshold_percent": org.threshold_percent,
        "created_at": org.created_at.isoformat(),
    }


@router.get("/orgs", response_model=schemas.OrgPage, operation_id="list_orgs")
def list_orgs(
    session: Annotated[Session, Depends(read_session)], credentials: Credentials
) -> dict[str, Any]:
    actor = signed_in(session, credentials)
    return {
        "items": [org_view(o) for o in service.list_orgs(session, actor=actor)],
        "next_cursor": None,
    }


@router.post(
    "/orgs",
    status_code=201,
    response_model=schemas.OrgOut,
    operation_id="create_org",
    dependencies=[guard_actor("orgs.manage")],
)
def create_org(
    body: schemas.OrgIn,
    session: WriteSession,
    actor: WriteActor,
) -> dict[str, Any]:
    org = service.create_org(
        session,
        actor=actor,
        slug=body.slug,
        name=body.name,
        threshold_percent=body.threshold_percent,
    )
    session.commit()
    return org_view(org)


@router.get("/orgs/{org}", response_model=schemas.OrgOut, operation_id="get_org")
def get_org(ctx: ReadCtx) -> dict[str, Any]:
    return org_view(ctx.org)


@router.patch(
    "/orgs/{org}",
    response_model=schemas.OrgOut,
    operation_id="update_org",
    dependencies=[guard("orgs.manage")],
)
def update_org(ctx: WriteCtx, body: schemas.OrgPatch) -> dict[str, Any]:
    require(ctx.actor, "orgs.manage")
    service.set_threshold(ctx.session, org=ctx.org, percent=body.threshold_percent)
    ctx.session.commit()
    return org_view(ctx.org)


@router.get("/orgs/{org}/schools", response_model=schemas.SchoolPage, operation_id="list_schools")
def list_schools(ctx: ReadCtx) -> dict[str, Any]:
    schools = service.list_schools(ctx.session, actor=ctx.actor, org=ctx.org)
    return {"items": [service.school_view(s) for s in schools], "next_cursor": None}


@router.post(
    "/orgs/{org}/schools",
    dependencies=[guard("schools.write")],
    status_code=201,
    response_model=schemas.SchoolOut,
    operation_id="create_school",
)
def create_school(ctx: WriteCtx, body: schemas.SchoolIn) -> dict[str, Any]:
    school = service.create_school(
        ctx.session, actor=ctx.actor, org=ctx.org, name=body.name, external_id=body.external_id
    )
    ctx.session.commit()
    return service.school_view(school)


@router.post(
    "/orgs/{org}/apikeys",
    dependencies=[guard("apikeys.create")],
    status_code=201,
    response_model=schemas.ApiKeyOut,
    operation_id="create_api_key",
)
def create_api_key(ctx: WriteCtx, body: schemas.ApiKeyIn) -> dict[str, Any]:
    require(ctx.actor, "apikeys.create")
    key = auth.create_api_key(ctx.session, org=ctx.org, name=body.name)
    ctx.session.commit()
    return {"key": key, "name": body.name, "message": "keep this key now: it is shown only once"}
