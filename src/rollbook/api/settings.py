"""Students' product settings, one student or many (R16)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from rollbook.api import schemas
from rollbook.api.deps import CatalogueDep, ReadCtx, TurnRoute, WriteCtx, guard
from rollbook.services import settings

router = APIRouter(
    route_class=TurnRoute, prefix="/orgs/{org}", tags=["product settings"], responses=schemas.ERRORS
)

SETTINGS_EXAMPLE = {"ill": {"language_support": "Spanish"}, "reading": {"session_minutes": 30}}


@router.get(
    "/students/{student_id}/product-settings",
    response_model=dict[str, dict[str, schemas.SettingOut]],
    operation_id="get_product_settings",
)
def read_settings(ctx: ReadCtx, student_id: str, catalogue: CatalogueDep) -> dict[str, Any]:
    return settings.read(
        ctx.session, actor=ctx.actor, org=ctx.org, student_id=student_id, catalogue=catalogue
    )


@router.patch(
    "/students/{student_id}/product-settings",
    response_model=schemas.SettingsOut,
    operation_id="update_product_settings",
    dependencies=[guard("students.write")],
)
def write_settings(
    ctx: WriteCtx,
    student_id: str,
    catalogue: CatalogueDep,
    body: dict[str, dict[str, str | int | bool | None]] = Body(examples=[SETTINGS_EXAMPLE]),  # noqa: B008
) -> dict[str, Any]:
    view, warnings = settings.write(
        ctx.session,
        actor=ctx.actor,
        org=ctx.org,
        student_id=student_id,
        data=body,
        catalogue=catalogue,
    )
    ctx.session.commit()
    return {**view, "warnings": warnings}


@router.post(
    "/product-settings/bulk",
    response_model=schemas.BulkOut,
    operation_id="bulk_product_setting",
    dependencies=[guard("students.write")],
)
def bulk_settings(
    ctx: WriteCtx, body: schemas.BulkSettingIn, catalogue: CatalogueDep
) -> dict[str, Any]:
    summary = settings.bulk(
        ctx.session,
        actor=ctx.actor,
        org=ctx.org,
        student_ids=[str(i) for i in body.student_ids],
        product=body.product,
        setting=body.setting,
        value=body.value,
        catalogue=catalogue,
    )
    ctx.session.commit()
    return summary
