"""Queries on students' product settings."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from rollbook.store.models import ProductSetting


def settings_of(session: Session, *, person_id: int) -> list[ProductSetting]:
    return list(
        session.scalars(select(ProductSetting).where(ProductSetting.person_id == person_id))
    )


def setting_rows(
    session: Session, *, person_ids: Iterable[int], product: str, setting: str
) -> dict[int, ProductSetting]:
    ids = list(set(person_ids))
    if not ids:
        return {}
    rows = session.scalars(
        select(ProductSetting).where(
            ProductSetting.person_id.in_(ids),
            ProductSetting.product == product,
            ProductSetting.setting == setting,
        )
    )
    return {row.person_id: row for row in rows}
