"""The History tab of students, educators and classes (R23): who, what, when, from where."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from rollbook.services import classes, history, people
from rollbook.services.people import PersonKind
from rollbook.store.models import Change
from rollbook.web.classes import class_page
from rollbook.web.forms import LABELS
from rollbook.web.pages import PageRoute
from rollbook.web.people import PLURAL, person_page
from rollbook.web.session import PageCtx, WebCtx

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ACTIONS = {
    "created": "Created",
    "updated": "Changed",
    "adopted": "Adopted by the sync",
    "deactivated": "Deactivated",
    "reactivated": "Reactivated",
    "member_added": "Member added",
    "member_removed": "Member removed",
    "added_to_class": "Added to a class",
    "removed_from_class": "Removed from a class",
    "product_added": "Product added",
    "product_removed": "Product removed",
    "setting_changed": "Product setting changed",
}
ACTORS = {
    "educator": "by hand",
    "api_key": "through the API",
    "operator": "by an operator",
    "sync": "by a sync",
}


def _lines(ctx: WebCtx, changes: list[Change]) -> list[dict[str, Any]]:
    lines = []
    for change in changes:
        view = history.change_view(change)
        field = view["field"] or ""
        run = view["run_id"]
        synced = view["actor"]["kind"] == "sync"
        lines.append(
            {
                **view,
                "who": "Your SIS" if synced else view["actor"]["name"],
                "what": ACTIONS.get(view["action"], view["action"].replace("_", " ").capitalize()),
                "field_label": LABELS.get(field, field),
                "where": f"sync run {run}" if run else ACTORS.get(view["actor"]["kind"], ""),
                "run_url": ctx.url(f"/syncs/{run}") if run else None,
                "created": _created(ctx, view["new"]) if view["action"] == "created" else None,
            }
        )
    return lines


def _created(ctx: WebCtx, values: Any) -> list[tuple[str, Any]]:
    """The values an entity was created with, labelled, without the empty ones."""
    if not isinstance(values, dict):
        return []
    shown = []
    for name, value in values.items():
        if value in (None, "") or (isinstance(value, list) and not value):
            continue
        if name in ("school_ids", "school_id"):
            ids = value if isinstance(value, list) else [value]
            seen = ctx.schools_of(int(i) for i in ids)
            named = [seen[int(i)].name if int(i) in seen else i for i in ids]
            shown.append((LABELS[name], named))
        else:
            shown.append((LABELS.get(name, name.replace("_", " ")), value))
    return shown


def _page_args(ctx: WebCtx, kind: str, entity_id: int) -> dict[str, Any]:
    cursor = ctx.request.query_params.get("cursor") or None
    found = history.entity_history(
        ctx.session,
        org_id=ctx.org.id,
        entity_kind=kind,
        entity_id=entity_id,
        limit=None,
        cursor=cursor,
    )
    base = ctx.request.url.path
    return {
        "lines": _lines(ctx, found.items),
        "next_url": f"{base}?cursor={found.next_cursor}" if found.next_cursor else None,
        "first_url": base if cursor else None,
    }


def _person_history(kind: PersonKind) -> None:
    @router.get(f"/orgs/{{org}}/{PLURAL[kind]}/{{person_id}}/history")
    def person_history(ctx: PageCtx, person_id: str) -> Response:
        loaded = people.load(
            ctx.session, actor=ctx.actor, org=ctx.org, kind=kind, person_id=person_id
        )
        args = _page_args(ctx, kind, loaded.person.id)
        return person_page(ctx, kind, loaded, "tab_history.html", "history", **args)


_person_history("student")
_person_history("educator")


@router.get("/orgs/{org}/classes/{class_id}/history")
def class_history(ctx: PageCtx, class_id: str) -> Response:
    klass = classes.load(ctx.session, actor=ctx.actor, org=ctx.org, class_id=class_id)
    args = _page_args(ctx, "class", klass.id)
    return class_page(ctx, klass, "tab_history.html", "history", **args)
