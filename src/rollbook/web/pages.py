"""Rendering pages: the templates, the page route that turns every failure into a page.

Errors come from the same services as the API's. A rule broken by a form's values is shown
next to the field by the page's own handler (see `forms.py`); what is left reaches the page
route below: not signed in → the sign-in form, a form without its CSRF token → 403, another
organization or an unknown entity → 404, a role that may not → 403, anything unexpected →
500. Never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException

from rollbook import __version__
from rollbook.api.deps import TurnRoute
from rollbook.api.errors import status_of
from rollbook.domain.errors import Busy, RollbookError
from rollbook.domain.fields import LOCK_HINT, SIS_SENDS_WARNING
from rollbook.domain.permissions import Action, allows
from rollbook.store.db import is_busy
from rollbook.web.session import CSRF_FIELD, CsrfRefused, SignInRequired, TooLarge, WebCtx

log = logging.getLogger("rollbook.web")

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
HTMX = "htmx-2.0.11.min.js"
SYNCED_LABEL = "Synced from your SIS"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    # The templates ship with the program: not looked for on disk again at every page (six
    # `stat` calls for a class's page).
    auto_reload=False,
)


def _when(value: str | datetime | None) -> str:
    """A timestamp as people read it, in UTC (the machine-readable form goes in `datetime`)."""
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _shown(value: Any) -> str:
    """A field value in a report or history line."""
    if value is None or value == "" or (isinstance(value, list) and not value):
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, dict):
        if "name" in value:
            return str(value["name"])
        return ", ".join(f"{k}: {_shown(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


templates.filters["when"] = _when
templates.filters["shown"] = _shown
templates.globals.update(
    HTMX=HTMX,
    VERSION=__version__,
    LOCK_HINT=LOCK_HINT,
    SIS_SENDS_WARNING=SIS_SENDS_WARNING,
    SYNCED_LABEL=SYNCED_LABEL,
    CSRF_FIELD=CSRF_FIELD,
)


def query_url(path: str, params: dict[str, Any]) -> str:
    """`path` with the non-empty query parameters."""
    kept = {k: v for k, v in params.items() if v not in (None, "", False)}
    return f"{path}?{urlencode(kept)}" if kept else path


templates.globals["query_url"] = query_url
# The lock with its usual label, made once from its macro (macros.html): the rows of a page
# of synced people called the macro once each.
templates.globals["SYNCED_LOCK"] = templates.get_template("macros.html").module.lock()  # type: ignore[attr-defined]


def nav_of(ctx: WebCtx | None) -> dict[str, bool]:
    """What the signed-in educator may reach or do, for the header and the buttons."""
    actions: tuple[Action, ...] = (
        "students.write",
        "classes.write",
        "educators.write",
        "syncs.read",
        "syncs.run",
        "syncs.decide",
    )
    if ctx is None:
        return dict.fromkeys(actions, False)
    return {action: allows(ctx.actor, action) for action in actions}


def may(ctx: WebCtx, action: Action) -> bool:
    """Whether to offer a button: the same grants `require` checks when it is pressed."""
    return allows(ctx.actor, action)


def render(
    request: Request,
    template: str,
    ctx: WebCtx | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page (or an htmx fragment) from a template; autoescaped, with our CSP."""
    html = templates.get_template(template).render(
        request=request,
        ctx=ctx,
        may=nav_of(ctx),
        csrf=ctx.csrf if ctx else context.pop("csrf", ""),
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers=headers)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    return response


def is_fragment(request: Request, target: str) -> bool:
    """An htmx request for one part of the page (a history restore wants the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Target") == target
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html", status=status, title=title, message=message)


TITLES = {
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible",
    412: "Changed meanwhile",
    422: "Please check the values",
    429: "Too many attempts",
}


def _on_rule(request: Request, error: RollbookError) -> Response:
    if isinstance(error, Busy):
        return _on_busy(request)
    status = status_of(error)
    if status == 401:
        return see_other("/login")
    message = error.message
    if status == 404:
        message = f"{error.message[:1].upper()}{error.message[1:]}: it may have been removed, "
        message += "or it belongs to a school or organization you do not see."
    return error_page(request, status, TITLES.get(status, "Something is wrong"), message)


def _on_busy(request: Request) -> Response:
    busy = Busy()
    page = error_page(request, 503, "Busy", busy.message[:1].upper() + busy.message[1:] + ".")
    page.headers["Retry-After"] = str(busy.retry_after)
    return page


class PageRoute(TurnRoute):
    """A route of the pages: whatever goes wrong becomes a page, never a JSON body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as needed:
                target = "/login"
                if needed.next_path:
                    target += "?" + urlencode({"next": needed.next_path})
                if request.headers.get("HX-Request") == "true":
                    return Response(status_code=204, headers={"HX-Redirect": target})
                return see_other(target)
            except CsrfRefused:
                return error_page(
                    request,
                    403,
                    "This form has expired",
                    "The form did not carry this session's security token (it may come "
                    "from an old page or another site). Go back, reload the page and try again.",
                )
            except TooLarge:
                return error_page(
                    request, 413, "Too large", "That upload is larger than rollbook accepts."
                )
            except RollbookError as error:
                return _on_rule(request, error)
            except RequestValidationError:
                return error_page(
                    request, 422, TITLES[422], "The request is missing a value or has a bad one."
                )
            except HTTPException as error:
                return error_page(
                    request, error.status_code, "Not found", "There is no page at this address."
                )
            except Exception as error:
                if is_busy(error):  # the database said "not now": nothing was written
                    return _on_busy(request)
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                return error_page(
                    request,
                    500,
                    "Something went wrong",
                    "Something went wrong on our side; it was logged. Try again in a moment.",
                )

        return page_handler


fallback = APIRouter(route_class=PageRoute, include_in_schema=False)


@fallback.get("/orgs/{org}/{rest:path}")
def no_such_page(request: Request, org: str, rest: str) -> Response:
    """An address under an organization that no page answers: a 404 page, not JSON."""
    return error_page(request, 404, "Not found", "There is no page at this address.")
