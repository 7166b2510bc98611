"""The rostering pages: server-rendered HTML (Jinja2) with a vendored htmx, no build step.

One module per noun; `router` gathers them and `STATIC_DIR` is mounted at `/static`.
"""

from __future__ import annotations

from fastapi import APIRouter

from rollbook.web import auth, classes, history, people, settings, syncs
from rollbook.web.pages import STATIC_DIR, fallback

router = APIRouter(include_in_schema=False)
for _pages in (auth, people, classes, history, settings, syncs):
    router.include_router(_pages.router)
router.include_router(fallback)  # last: only addresses no page answers

__all__ = ["STATIC_DIR", "router"]
