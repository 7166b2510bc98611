"""The catalogue and each class's products (R14): every association has a source."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from rollbook.domain.catalogue import Catalogue, Product
from rollbook.domain.errors import NotFound
from rollbook.domain.permissions import Actor, require
from rollbook.services import classes
from rollbook.services.history import Recorder
from rollbook.store import classes as store
from rollbook.store.models import ClassProduct, Org

REMOVE_SIS_PRODUCT_WARNING = (
    "Sent by your SIS: the next sync will associate this product with the class again"
)


def catalogue_view(catalogue: Catalogue, *, actor: Actor) -> list[dict[str, Any]]:
    require(actor, "products.read")
    return [p.describe() for p in catalogue.products.values()]


def _product(catalogue: Catalogue, code: str) -> Product:
    found = catalogue.product(code)
    if found is None:
        raise NotFound(f"no product {code!r} in the catalogue")
    return found


def link_view(link: ClassProduct, catalogue: Catalogue) -> dict[str, Any]:
    product = catalogue.product(link.product)
    return {
        "code": link.product,
        "name": product.name if product else link.product,
        "source": link.source,
        "sis_sends": link.source == "sis",
    }


def list_links(
    session: Session, *, actor: Actor, org: Org, class_id: str, catalogue: Catalogue
) -> list[dict[str, Any]]:
    klass = classes.load(session, actor=actor, org=org, class_id=class_id)
    return [link_view(link, catalogue) for link in store.products_of(session, class_id=klass.id)]


def add_link(
    session: Session, *, actor: Actor, org: Org, class_id: str, code: str, catalogue: Catalogue
) -> dict[str, Any]:
    """R14: the Products tab of every class is editable; a hand-added product is `manual`."""
    klass = classes.load(session, actor=actor, org=org, class_id=class_id)
    require(actor, "classes.write")
    _product(catalogue, code)
    link = store.product_link(session, class_id=klass.id, product=code)
    if link is None:
        link = store.add_product(
            session, org_id=org.id, class_id=klass.id, product=code, source="manual"
        )
        recorder = Recorder(session, actor=actor, org_id=org.id)
        recorder.add(
            "class",
            klass.id,
            "product_added",
            field="products",
            new={"code": code, "source": "manual"},
        )
        recorder.flush()
    return link_view(link, catalogue)


def remove_link(
    session: Session, *, actor: Actor, org: Org, class_id: str, code: str, catalogue: Catalogue
) -> None:
    """R14: removing by hand is allowed; a product the SIS sends comes back at the next sync."""
    klass = classes.load(session, actor=actor, org=org, class_id=class_id)
    require(actor, "classes.write")
    link = store.product_link(session, class_id=klass.id, product=code)
    if link is None:
        _product(catalogue, code)
        return
    store.remove_product(session, class_id=klass.id, product=code)
    recorder = Recorder(session, actor=actor, org_id=org.id)
    recorder.add(
        "class",
        klass.id,
        "product_removed",
        field="products",
        old={"code": code, "source": link.source},
    )
    recorder.flush()
