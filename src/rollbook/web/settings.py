"""Product settings (R16): a student's Product Settings tab, and one setting for many students.

Inputs are typed from the catalogue (a list for an enum, a number with bounds for an int,
yes/no for a bool). A setting the SIS sends carries the R11 warning before the change.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from starlette.datastructures import FormData

from rollbook.api.errors import status_of
from rollbook.domain.catalogue import Catalogue, Setting
from rollbook.domain.errors import RollbookError, ValidationFailed
from rollbook.domain.permissions import require
from rollbook.domain.values import is_digits
from rollbook.services import classes, memberships, people, settings
from rollbook.services.people import Loaded
from rollbook.web import forms
from rollbook.web.lists import ORIGINS, school_options
from rollbook.web.pages import PageRoute, is_fragment, may, render, see_other
from rollbook.web.people import person_page
from rollbook.web.session import Form, FormCtx, PageCtx, WebCtx

router = APIRouter(route_class=PageRoute, include_in_schema=False)
BULK_CHOICES = 500


def as_text(value: Any) -> str:
    """A setting value as its input holds it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def setting_rows(
    catalogue: Catalogue,
    view: dict[str, Any],
    posted: FormData | None,
    errors: dict[str, str],
) -> list[dict[str, Any]]:
    """Per product, its settings with the value in effect, the source and the SIS flag."""
    products = []
    for product in catalogue.products.values():
        rows = []
        for setting in product.settings.values():
            key = f"{product.code}.{setting.code}"
            state = view[product.code][setting.code]
            value = as_text(state["value"])
            if posted is not None and key in posted:
                value = str(posted.get(key) or "")
            rows.append(
                {
                    "key": key,
                    "id": f"s-{product.code}-{setting.code}",
                    "setting": setting,
                    "value": value,
                    "source": state["source"],
                    "sis_sends": state["sis_sends"],
                    "error": errors.get(key),
                }
            )
        products.append({"code": product.code, "name": product.name, "settings": rows})
    return products


def _tab(
    ctx: WebCtx,
    loaded: Loaded,
    *,
    posted: FormData | None = None,
    error: RollbookError | None = None,
) -> Response:
    catalogue: Catalogue = ctx.request.app.state.catalogue
    view = settings.read(
        ctx.session,
        actor=ctx.actor,
        org=ctx.org,
        student_id=str(loaded.person.id),
        catalogue=catalogue,
    )
    keys = {f"{p}.{s}" for p, group in view.items() for s in group}
    errors, messages = forms.messages_of(error, keys) if error else ({}, [])
    params = ctx.request.query_params
    return person_page(
        ctx,
        "student",
        loaded,
        "tab_settings.html",
        "settings",
        status=status_of(error) if error else 200,
        products=setting_rows(catalogue, view, posted, errors),
        messages=messages,
        saved=params.get("saved") == "1" and error is None,
        reverted=is_digits(params.get("sis", "")) and int(params["sis"]) > 0 and error is None,
        can_edit=may(ctx, "students.write"),
        action=ctx.url(f"/students/{loaded.person.id}/product-settings"),
    )


@router.get("/orgs/{org}/students/{student_id}/product-settings")
def settings_tab(ctx: PageCtx, student_id: str) -> Response:
    loaded = people.load(
        ctx.session, actor=ctx.actor, org=ctx.org, kind="student", person_id=student_id
    )
    return _tab(ctx, loaded)


def changed_settings(
    catalogue: Catalogue, view: dict[str, Any], form: FormData
) -> dict[str, dict[str, str]]:
    """Only what differs from the value in effect: saving must not turn defaults into edits."""
    data: dict[str, dict[str, str]] = {}
    for product in catalogue.products.values():
        for setting in product.settings.values():
            key = f"{product.code}.{setting.code}"
            if key not in form:
                continue
            raw = str(form.get(key) or "").strip()
            if raw != as_text(view[product.code][setting.code]["value"]):
                data.setdefault(product.code, {})[setting.code] = raw
    return data


@router.post("/orgs/{org}/students/{student_id}/product-settings")
def save_settings(ctx: FormCtx, form: Form, student_id: str) -> Response:
    require(ctx.actor, "students.write")  # the role first, then the student (decisions)
    catalogue: Catalogue = ctx.request.app.state.catalogue
    loaded = people.load(
        ctx.session, actor=ctx.actor, org=ctx.org, kind="student", person_id=student_id
    )
    view = settings.read(
        ctx.session, actor=ctx.actor, org=ctx.org, student_id=student_id, catalogue=catalogue
    )
    try:
        _, warnings = settings.write(
            ctx.session,
            actor=ctx.actor,
            org=ctx.org,
            student_id=student_id,
            data=changed_settings(catalogue, view, form),
            catalogue=catalogue,
        )
        ctx.session.commit()
    except RollbookError as error:
        if not forms.is_form_error(error):
            raise
        ctx.session.rollback()
        return _tab(ctx, loaded, posted=form, error=error)
    url = ctx.url(f"/students/{student_id}/product-settings?saved=1&sis={len(warnings)}")
    return see_other(url)


def _setting_of(catalogue: Catalogue, key: str) -> tuple[str, str, Setting] | None:
    product, _, code = key.partition(".")
    found = catalogue.setting(product, code)
    return (product, code, found) if found else None


def _chosen_students(ctx: WebCtx) -> tuple[list[dict[str, Any]], str]:
    """The students to choose from: a class's, or a filtered list's (at most 500)."""
    params = ctx.request.query_params
    source = params.get("from", "")
    found: list[Any] = []
    if source == "class" and params.get("class_id"):
        page = memberships.list_members(
            ctx.session,
            actor=ctx.actor,
            org=ctx.org,
            class_id=params["class_id"],
            role="student",
            limit=BULK_CHOICES,
        )
        found = page.items
    elif source == "list":
        page, _ = people.list_people(
            ctx.session,
            actor=ctx.actor,
            org=ctx.org,
            kind="student",
            q=params.get("q", "").strip()[:100] or None,
            school_id=params.get("school_id") or None,
            origin=params.get("origin") or None,
            limit=BULK_CHOICES,
        )
        found = page.items
    students = [
        {"id": str(p.id), "name": f"{p.last_name}, {p.first_name}", "origin": p.origin}
        for p in found
    ]
    return students, source


def _bulk_page(
    ctx: WebCtx,
    *,
    status: int = 200,
    summary: dict[str, Any] | None = None,
    posted: FormData | None = None,
    messages: list[str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    catalogue: Catalogue = ctx.request.app.state.catalogue
    params = ctx.request.query_params
    students, source = _chosen_students(ctx)
    picked = set(posted.getlist("student_ids")) if posted is not None else None
    key = str(posted.get("setting") or "") if posted else params.get("setting", "")
    chosen = _setting_of(catalogue, key) or _setting_of(catalogue, "ill.language_support")
    class_page = classes.list_classes(ctx.session, actor=ctx.actor, org=ctx.org, limit=500)
    return render(
        ctx.request,
        "bulk.html",
        ctx,
        status=status,
        section="bulk",
        catalogue=catalogue,
        students=students,
        picked=picked,
        source=source,
        params=params,
        class_options=[(str(c.id), c.name) for c in class_page.items],
        school_options=school_options(ctx),
        origins=ORIGINS,
        chosen_key=f"{chosen[0]}.{chosen[1]}" if chosen else "",
        chosen=chosen[2] if chosen else None,
        value=str(posted.get("value") or "") if posted else "",
        summary=summary,
        messages=messages or [],
        errors=errors or {},
        can_edit=may(ctx, "students.write"),
        action=ctx.request.url.path
        + (f"?{ctx.request.url.query}" if ctx.request.url.query else ""),
    )


@router.get("/orgs/{org}/product-settings/bulk")
def bulk_form(ctx: PageCtx) -> Response:
    try:
        return _bulk_page(ctx)
    except ValidationFailed as error:
        return render(
            ctx.request,
            "error.html",
            ctx,
            status=422,
            title="Please check the filters",
            message=error.message,
        )


@router.get("/orgs/{org}/product-settings/bulk/value")
def bulk_value_input(ctx: PageCtx, setting: str = "") -> Response:
    """The typed value input of the chosen setting (htmx swaps it in when the choice changes)."""
    catalogue: Catalogue = ctx.request.app.state.catalogue
    chosen = _setting_of(catalogue, setting)
    if chosen is None or not is_fragment(ctx.request, "value-field"):
        return see_other(ctx.url("/product-settings/bulk"))
    return render(ctx.request, "_bulk_value.html", ctx, chosen=chosen[2], value="", errors={})


@router.post("/orgs/{org}/product-settings/bulk")
def bulk_save(ctx: FormCtx, form: Form) -> Response:
    """R16: one setting, one value, many students; says how many the next sync reverts."""
    require(ctx.actor, "students.write")
    catalogue: Catalogue = ctx.request.app.state.catalogue
    key = str(form.get("setting") or "")
    product, _, setting = key.partition(".")
    try:
        if _setting_of(catalogue, key) is None:
            raise ValidationFailed.one("setting", "choose a setting")
        summary = settings.bulk(
            ctx.session,
            actor=ctx.actor,
            org=ctx.org,
            student_ids=[str(s) for s in form.getlist("student_ids")],
            product=product,
            setting=setting,
            value=str(form.get("value") or "").strip(),
            catalogue=catalogue,
        )
        ctx.session.commit()
    except RollbookError as error:
        if not forms.is_form_error(error):
            raise
        ctx.session.rollback()
        errors, messages = forms.messages_of(error, {"student_ids", "setting", key})
        if key in errors:
            errors["value"] = errors.pop(key)
        return _bulk_page(
            ctx, status=status_of(error), posted=form, messages=messages, errors=errors
        )
    chosen = _setting_of(catalogue, key)
    assert chosen is not None
    summary["label"] = f"{chosen[2].label} of {catalogue.products[product].name}"
    return _bulk_page(ctx, summary=summary, posted=form)
