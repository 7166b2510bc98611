"""Classes and groups: list, Add, Details, Students and Educators tabs, Products tab."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from starlette.datastructures import FormData

from rollbook.api.errors import status_of
from rollbook.domain.catalogue import Catalogue
from rollbook.domain.errors import RollbookError, ValidationFailed
from rollbook.domain.permissions import require
from rollbook.domain.values import is_digits
from rollbook.services import classes, memberships, people, products
from rollbook.services.memberships import MemberRole
from rollbook.services.products import REMOVE_SIS_PRODUCT_WARNING
from rollbook.services.views import class_view
from rollbook.store.models import Class
from rollbook.web import forms
from rollbook.web.lists import KINDS, ORIGINS, STATUSES, Filters, pages, school_options
from rollbook.web.pages import PageRoute, is_fragment, may, render, see_other
from rollbook.web.session import Form, FormCtx, PageCtx, WebCtx

router = APIRouter(route_class=PageRoute, include_in_schema=False)
BASE = "/orgs/{org}/classes"
ROLES: dict[str, MemberRole] = {"students": "student", "educators": "educator"}


def class_page(
    ctx: WebCtx, klass: Class, template: str, tab: str, *, status: int = 200, **context: Any
) -> Response:
    """A tab of a class's page, under the common heading and tabs."""
    view = class_view(klass)
    base = ctx.url(f"/classes/{klass.id}")
    school = ctx.schools_of([klass.school_id]).get(klass.school_id)
    tabs = [
        ("details", "Details", base),
        ("students", "Students", f"{base}/students"),
        ("educators", "Educators", f"{base}/educators"),
        ("products", "Products", f"{base}/products"),
        ("history", "History", f"{base}/history"),
    ]
    return render(
        ctx.request,
        template,
        ctx,
        status=status,
        section="classes",
        kind="class",
        entity=view,
        title=klass.name,
        schools=[school.name] if school else [],
        tabs=tabs,
        tab=tab,
        **context,
    )


def _rows(ctx: WebCtx, found: list[Class]) -> list[dict[str, Any]]:
    named = ctx.schools_of(c.school_id for c in found)
    rows = []
    for c in found:
        school = named.get(c.school_id)
        rows.append(
            {
                "id": str(c.id),
                "name": c.name,
                "kind": c.kind,
                "school": school.name if school else "",
                "grades": ", ".join(c.grades or []),
                "origin": c.origin,
                "status": c.status,
            }
        )
    return rows


@router.get(BASE, name="web_classes")
def list_classes(ctx: PageCtx) -> Response:
    path = ctx.url("/classes")
    filters = Filters.of(ctx.request)
    messages: list[str] = []
    rows: list[dict[str, Any]] = []
    next_cursor = None
    try:
        found = classes.list_classes(
            ctx.session,
            actor=ctx.actor,
            org=ctx.org,
            kind=filters.kind or None,
            **filters.service_args(),
        )
        rows, next_cursor = _rows(ctx, found.items), found.next_cursor
    except ValidationFailed as error:
        messages = forms.messages_of(error, set())[1]
    context: dict[str, Any] = {
        "kind": "class",
        "plural": "classes",
        "rows": rows,
        "filters": filters,
        "messages": messages,
        **pages(filters, path, next_cursor),
    }
    status = 422 if messages else 200
    if is_fragment(ctx.request, "results"):
        return render(ctx.request, "_class_rows.html", ctx, status=status, **context)
    return render(
        ctx.request,
        "list.html",
        ctx,
        status=status,
        section="classes",
        title="Classes & groups",
        rows_template="_class_rows.html",
        can_add=may(ctx, "classes.write"),
        add_label="Add class or group",
        school_options=school_options(ctx),
        origins=ORIGINS,
        statuses=STATUSES,
        kinds=KINDS,
        **context,
    )


def _new_page(
    ctx: WebCtx, values: dict[str, Any], errors: dict[str, str], messages: list[str], status: int
) -> Response:
    inputs = forms.inputs_for(
        "class", values=values, block=None, errors=errors, schools=ctx.schools, creating=True
    )
    return render(
        ctx.request,
        "new.html",
        ctx,
        status=status,
        section="classes",
        title="Add a class or group",
        inputs=inputs,
        action=ctx.url("/classes/new"),
        cancel=ctx.url("/classes"),
        messages=messages,
    )


@router.get(f"{BASE}/new", name="web_new_class")
def new_class(ctx: PageCtx) -> Response:
    require(ctx.actor, "classes.write")
    only = next(iter(ctx.schools), None)
    return _new_page(ctx, {"kind": "group", "school_id": str(only or "")}, {}, [], 200)


@router.post(f"{BASE}/new")
def create_class(ctx: FormCtx, form: Form) -> Response:
    try:
        klass = classes.create(
            ctx.session, actor=ctx.actor, org=ctx.org, data=forms.service_input("class", form)
        )
        ctx.session.commit()
    except RollbookError as error:
        if not forms.is_form_error(error):
            raise
        ctx.session.rollback()
        errors, messages = forms.messages_of(error, set(forms.LABELS))
        values = forms.posted_values("class", form)
        return _new_page(ctx, values, errors, messages, status_of(error))
    return see_other(ctx.url(f"/classes/{klass.id}?created=1"))


def _details(
    ctx: WebCtx, klass: Class, *, posted: FormData | None = None, error: RollbookError | None = None
) -> Response:
    view = class_view(klass)
    values = forms.shown_values("class", view)
    errors: dict[str, str] = {}
    messages: list[str] = []
    if posted is not None:
        editable = {n for n, info in view["fields"].items() if info["editable"]}
        posted_values = forms.posted_values("class", posted)
        values.update({k: v for k, v in posted_values.items() if k in editable})
    if error is not None:
        errors, messages = forms.messages_of(error, set(view["fields"]))
    inputs = forms.inputs_for(
        "class", values=values, block=view["fields"], errors=errors, schools=ctx.schools
    )
    return class_page(
        ctx,
        klass,
        "tab_details.html",
        "details",
        status=status_of(error) if error else 200,
        inputs=inputs,
        messages=messages,
        saved=ctx.request.query_params.get("saved") == "1" and error is None,
        warned=[],
        can_edit=may(ctx, "classes.write"),
        action=ctx.url(f"/classes/{klass.id}"),
    )


@router.get(f"{BASE}/{{class_id}}", name="web_class")
def class_details(ctx: PageCtx, class_id: str) -> Response:
    return _details(ctx, classes.load(ctx.session, actor=ctx.actor, org=ctx.org, class_id=class_id))


@router.post(f"{BASE}/{{class_id}}")
def save_class(ctx: FormCtx, form: Form, class_id: str) -> Response:
    require(ctx.actor, "classes.write")  # the role first, then the class (decisions)
    version = str(form.get("version") or "")
    try:
        classes.update(
            ctx.session,
            actor=ctx.actor,
            org=ctx.org,
            class_id=class_id,
            data=forms.service_input("class", form),
            if_match=int(version) if is_digits(version) else None,
        )
        ctx.session.commit()
    except RollbookError as error:
        if not forms.is_form_error(error):
            raise
        ctx.session.rollback()
        klass = classes.load(ctx.session, actor=ctx.actor, org=ctx.org, class_id=class_id)
        return _details(ctx, klass, posted=form, error=error)
    return see_other(ctx.url(f"/classes/{class_id}?saved=1"))


def _members(
    ctx: WebCtx, klass: Class, plural: str, *, error: RollbookError | None = None
) -> Response:
    """R15: read-only on a synced class; add and remove on a manual one."""
    role = ROLES[plural]
    params = ctx.request.query_params
    cursor = params.get("cursor") or None
    found = memberships.list_members(
        ctx.session, actor=ctx.actor, org=ctx.org, class_id=str(klass.id), role=role, cursor=cursor
    )
    editable = klass.origin == "manual" and klass.status == "active" and may(ctx, "classes.write")
    add_q = params.get("add_q", "").strip()[:100]
    candidates: list[dict[str, Any]] = []
    if editable and add_q:
        page, _ = people.list_people(
            ctx.session, actor=ctx.actor, org=ctx.org, kind=role, q=add_q, limit=10
        )
        member_ids = {p.id for p in found.items}
        candidates = [
            {"id": str(p.id), "name": f"{p.first_name} {p.last_name}", "username": p.username,
             "origin": p.origin, "member": p.id in member_ids}
            for p in page.items
        ]  # fmt: skip
    base = ctx.url(f"/classes/{klass.id}/{plural}")
    context: dict[str, Any] = {
        "plural": plural,
        "role": role,
        "members": found.items,
        "candidates": candidates,
        "add_q": add_q,
        "editable": editable,
        "action": base,
        "next_url": f"{base}?cursor={found.next_cursor}" if found.next_cursor else None,
        "first_url": base if cursor else None,
        "messages": forms.messages_of(error, set())[1] if error else [],
        "done": params.get("done") if error is None else None,
    }
    if is_fragment(ctx.request, "candidates"):
        return render(ctx.request, "_candidates.html", ctx, **context)
    status = status_of(error) if error else 200
    return class_page(ctx, klass, "tab_class_members.html", plural, status=status, **context)


def _member_routes(plural: str) -> None:
    @router.get(f"{BASE}/{{class_id}}/{plural}")
    def class_members(ctx: PageCtx, class_id: str) -> Response:
        klass = classes.load(ctx.session, actor=ctx.actor, org=ctx.org, class_id=class_id)
        return _members(ctx, klass, plural)

    @router.post(f"{BASE}/{{class_id}}/{plural}")
    def change_members(ctx: FormCtx, form: Form, class_id: str) -> Response:
        require(ctx.actor, "classes.write")
        adding = form.get("action") == "add"
        change = memberships.add if adding else memberships.remove
        try:
            change(
                ctx.session,
                actor=ctx.actor,
                org=ctx.org,
                class_id=class_id,
                role=ROLES[plural],
                person_id=str(form.get("person_id") or ""),
            )
            ctx.session.commit()
        except RollbookError as error:
            if not forms.is_form_error(error):
                raise
            ctx.session.rollback()
            klass = classes.load(ctx.session, actor=ctx.actor, org=ctx.org, class_id=class_id)
            return _members(ctx, klass, plural, error=error)
        done = "added" if adding else "removed"
        return see_other(ctx.url(f"/classes/{class_id}/{plural}?done={done}"))


_member_routes("students")
_member_routes("educators")


def _products(
    ctx: WebCtx, klass: Class, catalogue: Catalogue, *, error: RollbookError | None = None
) -> Response:
    """R14: every class's products are editable; each shows its source."""
    links = products.list_links(
        ctx.session, actor=ctx.actor, org=ctx.org, class_id=str(klass.id), catalogue=catalogue
    )
    linked = {link["code"] for link in links}
    addable = [(p.code, p.name) for p in catalogue.products.values() if p.code not in linked]
    return class_page(
        ctx,
        klass,
        "tab_class_products.html",
        "products",
        status=status_of(error) if error else 200,
        links=links,
        addable=addable,
        warning=REMOVE_SIS_PRODUCT_WARNING,
        editable=may(ctx, "classes.write"),
        action=ctx.url(f"/classes/{klass.id}/products"),
        messages=forms.messages_of(error, set())[1] if error else [],
        done=ctx.request.query_params.get("done") if error is None else None,
    )


@router.get(f"{BASE}/{{class_id}}/products")
def class_products(ctx: PageCtx, class_id: str) -> Response:
    klass = classes.load(ctx.session, actor=ctx.actor, org=ctx.org, class_id=class_id)
    return _products(ctx, klass, ctx.request.app.state.catalogue)


@router.post(f"{BASE}/{{class_id}}/products")
def change_products(ctx: FormCtx, form: Form, class_id: str) -> Response:
    require(ctx.actor, "classes.write")
    catalogue: Catalogue = ctx.request.app.state.catalogue
    adding = form.get("action") == "add"
    change = products.add_link if adding else products.remove_link
    code = str(form.get("code") or "")
    try:
        if not code:
            raise ValidationFailed.one("code", "choose a product")
        change(
            ctx.session,
            actor=ctx.actor,
            org=ctx.org,
            class_id=class_id,
            code=code,
            catalogue=catalogue,
        )
        ctx.session.commit()
    except RollbookError as error:
        if not forms.is_form_error(error):
            raise
        ctx.session.rollback()
        klass = classes.load(ctx.session, actor=ctx.actor, org=ctx.org, class_id=class_id)
        return _products(ctx, klass, catalogue, error=error)
    done = "added" if adding else "removed"
    return see_other(ctx.url(f"/classes/{class_id}/products?done={done}"))
