"""The product catalogue (R16)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from rollbook.api import schemas
from rollbook.api.deps import CatalogueDep, Credentials, TurnRoute, read_session, signed_in
from rollbook.services import products

router = APIRouter(route_class=TurnRoute, tags=["products"], responses=schemas.ERRORS)


@router.get("/products", response_model=schemas.ProductPage, operation_id="list_products")
def list_products(
    session: Annotated[Session, Depends(read_session)],
    credentials: Credentials,
    catalogue: CatalogueDep,
) -> dict[str, Any]:
    actor = signed_in(session, credentials)
    return {"items": products.catalogue_view(catalogue, actor=actor), "next_cursor": None}
