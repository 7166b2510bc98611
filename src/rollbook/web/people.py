"""Students and educators: lists, Add, the Details tab and the Classes tab, for both kinds.

The same pages serve both kinds, as `api/people.py` does for the API; the student-only
Product Settings tab is in `settings.py`, the History tab in `history.py`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from starlette.datastructures import FormData

from rollbook.api.errors import status_of
from rollbook.domain.errors import RollbookError, ValidationFailed
from rollbook.domain.permissions import Action, require
from rollbook.domain.values import is_digits
from rollbook.services import classes, memberships, people
from rollbook.services.people import Loaded, PersonKind
from rollbook.services.views import person_view
from rollbook.web import forms
from rollbook.web.lists import (
    ORIGINS,
    STATUSES,
    Filters,
    pages,
    school_names,
    school_options,
    unseen_schools,
)
from rollbook.web.pages import PageRoute, is_fragment, may, render, see_other
from rollbook.web.session import Form, FormCtx, PageCtx, WebCtx

router = APIRouter(route_class=PageRoute, include_in_schema=False)
WRITE: dict[PersonKind, Action] = {"student": "students.write", "educator": "educators.write"}
PLURAL: dict[PersonKind, str] = {"student": "students", "educator": "educators"}


def person_title(view: dict[str, Any]) -> str:
    preferred = view.get("preferred_first_name")
    first = f"{view['first_name']} ({preferred})" if preferred else view["first_name"]
    return f"{first} {view['last_name']}"


def tabs_of(ctx: WebCtx, kind: PersonKind, person_id: str) -> list[tuple[str, str, str]]:
    """(key, label, address) of the tabs of a person's page."""
    base = ctx.url(f"/{PLURAL[kind]}/{person_id}")
    found = [("details", "Details", base), ("classes", "Classes", f"{base}/classes")]
    if kind == "student":
        found.append(("settings", "Product Settings", f"{base}/product-settings"))
    found.append(("history", "History", f"{base}/history"))
    return found


def person_page(
    ctx: WebCtx,
    kind: PersonKind,
    loaded: Loaded,
    template: str,
    tab: str,
    *,
    status: int = 200,
    **context: Any,
) -> Response:
    """A tab of a student's or educator's page, under the common heading and tabs."""
    view = person_view(loaded.person, loaded.school_ids)
    return render(
        ctx.request,
        template,
        ctx,
        status=status,
        section=PLURAL[kind],
        kind=kind,
        entity=view,
        title=person_title(view),
        schools=school_names(ctx, loaded.school_ids),
        tabs=tabs_of(ctx, kind, view["id"]),
        tab=tab,
        **context,
    )


def _rows(ctx: WebCtx, found: list[Any], schools: dict[int, list[int]]) -> list[dict[str, Any]]:
    ctx.schools_of(i for ids in schools.values() for i in ids)  # the page's schools at once
    return [
        {
            "id": str(p.id),
            "name": f"{p.last_name}, {p.first_name}",
            "username": p.username,
            "grade": p.grade or "",
            "role": (p.role or "").replace("administrator", "admin"),
            "schools": school_names(ctx, schools.get(p.id, [])),
            "origin": p.origin,
            "status": p.status,
        }
        for p in found
    ]


def list_page(ctx: WebCtx, kind: PersonKind) -> Response:
    """A list with search-as-you-type, filters and pages; htmx asks for the rows only."""
    path = ctx.url(f"/{PLURAL[kind]}")
    filters = Filters.of(ctx.request)
    messages: list[str] = []
    rows: list[dict[str, Any]] = []
    next_cursor = None
    try:
        found, schools = people.list_people(
            ctx.session, actor=ctx.actor, org=ctx.org, kind=kind, **filters.service_args()
        )
        rows, next_cursor = _rows(ctx, found.items, schools), found.next_cursor
    except ValidationFailed as error:
        messages = forms.messages_of(error, set())[1]
    context: dict[str, Any] = {
        "kind": kind,
        "plural": PLURAL[kind],
        "rows": rows,
        "filters": filters,
        "messages": messages,
        **pages(filters, path, next_cursor),
    }
    status = 422 if messages else 200
    if is_fragment(ctx.request, "results"):
        return render(ctx.request, "_people_rows.html", ctx, status=status, **context)
    return render(
        ctx.request,
        "list.html",
        ctx,
        status=status,
        section=PLURAL[kind],
        title=PLURAL[kind].capitalize(),
        rows_template="_people_rows.html",
        can_add=may(ctx, WRITE[kind]),
        add_label=f"Add {kind}",
        school_options=school_options(ctx),
        origins=ORIGINS,
        statuses=STATUSES,
        kinds=None,
        **context,
    )


def new_page(
    ctx: WebCtx,
    kind: PersonKind,
    values: dict[str, Any],
    errors: dict[str, str],
    messages: list[str],
    status: int = 200,
) -> Response:
    inputs = forms.inputs_for(
        kind, values=values, block=None, errors=errors, schools=ctx.schools, creating=True
    )
    return render(
        ctx.request,
        "new.html",
        ctx,
        status=status,
        section=PLURAL[kind],
        title=f"Add a {kind}",
        inputs=inputs,
        action=ctx.url(f"/{PLURAL[kind]}/new"),
        cancel=ctx.url(f"/{PLURAL[kind]}"),
        messages=messages,
    )


def details_page(
    ctx: WebCtx,
    kind: PersonKind,
    loaded: Loaded,
    *,
    posted: FormData | None = None,
    error: RollbookError | None = None,
) -> Response:
    view = person_view(loaded.person, loaded.school_ids)
    values = forms.shown_values(kind, view)
    errors: dict[str, str] = {}
    messages: list[str] = []
    if posted is not None:
        editable = {n for n, info in view["fields"].items() if info["editable"]}
        values.update({k: v for k, v in forms.posted_values(kind, posted).items() if k in editable})
    if error is not None:
        errors, messages = forms.messages_of(error, set(view["fields"]))
    inputs = forms.inputs_for(
        kind, values=values, block=view["fields"], errors=errors, schools=ctx.schools
    )
    params = ctx.request.query_params
    warned = [forms.LABELS[n] for n in params.get("sis", "").split(",") if n in forms.LABELS]
    return person_page(
        ctx,
        kind,
        loaded,
        "tab_details.html",
        "details",
        status=status_of(error) if error else 200,
        inputs=inputs,
        messages=messages,
        saved=params.get("saved") == "1" and error is None,
        warned=warned,
        can_edit=may(ctx, WRITE[kind]),
        action=ctx.url(f"/{PLURAL[kind]}/{view['id']}"),
    )


def classes_page(
    ctx: WebCtx, kind: PersonKind, loaded: Loaded, *, error: RollbookError | None = None
) -> Response:
    """R15: the person's classes whatever their origin, and the manual ones to choose from."""
    params = ctx.request.query_params
    cursor = params.get("cursor") or None
    found = memberships.classes_of(
        ctx.session,
        actor=ctx.actor,
        org=ctx.org,
        kind=kind,
        person_id=str(loaded.person.id),
        cursor=cursor,
    )
    named = ctx.schools_of(int(item["school_id"]) for item in found.items)
    for item in found.items:
        school = named.get(int(item["school_id"]))
        item["school"] = school.name if school else ""
    base = ctx.url(f"/{PLURAL[kind]}/{loaded.person.id}/classes")
    done = params.get("done")
    notice = None
    if done in ("added", "removed") and error is None and is_digits(params.get("class_id", "")):
        try:
            name = classes.load(
                ctx.session, actor=ctx.actor, org=ctx.org, class_id=params["class_id"]
            ).name
            notice = f"Added to {name}." if done == "added" else f"Removed from {name}."
        except RollbookError:
            notice = None
    return person_page(
        ctx,
        kind,
        loaded,
        "tab_person_classes.html",
        "classes",
        status=status_of(error) if error else 200,
        items=found.items,
        next_url=f"{base}?cursor={found.next_cursor}" if found.next_cursor else None,
        first_url=base if cursor else None,
        messages=forms.messages_of(error, set())[1] if error else [],
        notice=notice,
        can_edit=may(ctx, "classes.write") and loaded.person.status == "active",
        action=base,
    )


def people_pages(kind: PersonKind) -> None:
    """The routes of one kind."""
    plural = PLURAL[kind]
    base = f"/orgs/{{org}}/{plural}"

    @router.get(base, name=f"web_{plural}")
    def list_(ctx: PageCtx) -> Response:
        return list_page(ctx, kind)

    @router.get(f"{base}/new", name=f"web_new_{kind}")
    def new(ctx: PageCtx) -> Response:
        require(ctx.actor, WRITE[kind])
        return new_page(ctx, kind, {"school_ids": [], "role": "teacher"}, {}, [])

    @router.post(f"{base}/new")
    def create(ctx: FormCtx, form: Form) -> Response:
        data = forms.service_input(kind, form)
        try:
            loaded = people.create(ctx.session, actor=ctx.actor, org=ctx.org, kind=kind, data=data)
            ctx.session.commit()
        except RollbookError as error:
            if not forms.is_form_error(error):
                raise
            ctx.session.rollback()
            errors, messages = forms.messages_of(error, set(forms.LABELS))
            values = forms.posted_values(kind, form)
            return new_page(ctx, kind, values, errors, messages, status_of(error))
        return see_other(ctx.url(f"/{plural}/{loaded.person.id}?created=1"))

    @router.get(f"{base}/{{person_id}}", name=f"web_{kind}")
    def details(ctx: PageCtx, person_id: str) -> Response:
        loaded = people.load(
            ctx.session, actor=ctx.actor, org=ctx.org, kind=kind, person_id=person_id
        )
        return details_page(ctx, kind, loaded)

    @router.post(f"{base}/{{person_id}}")
    def save(ctx: FormCtx, form: Form, person_id: str) -> Response:
        # Decisions, order of refusals: a role that may not edit hears 403 whatever the
        # address names; only then is the person looked up (out of reach: 404).
        require(ctx.actor, WRITE[kind])
        loaded = people.load(
            ctx.session, actor=ctx.actor, org=ctx.org, kind=kind, person_id=person_id
        )
        hidden = unseen_schools(ctx, loaded.school_ids)
        data = forms.service_input(kind, form, keep_schools=hidden)
        version = str(form.get("version") or "")
        try:
            _, warnings = people.update(
                ctx.session,
                actor=ctx.actor,
                org=ctx.org,
                kind=kind,
                person_id=person_id,
                data=data,
                if_match=int(version) if is_digits(version) else None,
            )
            ctx.session.commit()
        except RollbookError as error:
            if not forms.is_form_error(error):
                raise
            ctx.session.rollback()
            again = people.load(
                ctx.session, actor=ctx.actor, org=ctx.org, kind=kind, person_id=person_id
            )
            return details_page(ctx, kind, again, posted=form, error=error)
        sent = ",".join(w["field"] for w in warnings)
        return see_other(
            ctx.url(f"/{plural}/{person_id}?saved=1" + (f"&sis={sent}" if sent else ""))
        )

    @router.get(f"{base}/{{person_id}}/classes", name=f"web_{kind}_classes")
    def classes_tab(ctx: PageCtx, person_id: str) -> Response:
        loaded = people.load(
            ctx.session, actor=ctx.actor, org=ctx.org, kind=kind, person_id=person_id
        )
        return classes_page(ctx, kind, loaded)

    @router.post(f"{base}/{{person_id}}/classes")
    def change_classes(ctx: FormCtx, form: Form, person_id: str) -> Response:
        require(ctx.actor, "classes.write")
        loaded = people.load(
            ctx.session, actor=ctx.actor, org=ctx.org, kind=kind, person_id=person_id
        )
        class_id = str(form.get("class_id") or "")
        adding = form.get("action") == "add"
        change = memberships.add if adding else memberships.remove
        try:
            change(
                ctx.session,
                actor=ctx.actor,
                org=ctx.org,
                class_id=class_id,
                role=kind,
                person_id=person_id,
            )
            ctx.session.commit()
        except RollbookError as error:
            if not forms.is_form_error(error):
                raise
            ctx.session.rollback()
            return classes_page(ctx, kind, loaded, error=error)
        done = "added" if adding else "removed"
        return see_other(ctx.url(f"/{plural}/{person_id}/classes?done={done}&class_id={class_id}"))


people_pages("student")
people_pages("educator")
