"""create_app(settings): the API and the pages on one ASGI application."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from rollbook import __version__
from rollbook.api import auth, classes, errors, orgs, people, products, settings
from rollbook.config import Settings
from rollbook.domain.catalogue import load_catalogue
from rollbook.services.auth import SignInLimiter
from rollbook.store.db import Database

API = "/api/v1"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(config: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """The application for one database; the schema must be up to date (store.db.migrate)."""
    config = config or Settings()
    app = FastAPI(
        title="rollbook",
        version=__version__,
        description="A school district's roster: the SIS sync and hand edits, living together.",
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
    )
    app.state.settings = config
    app.state.db = db or Database.connect(config.database_url, pool_size=config.pool_size)
    app.state.catalogue = load_catalogue(config.catalogue)
    app.state.sign_in_limiter = SignInLimiter(config.sign_in_attempts_per_minute)
    errors.install(app)
    for router in (
        auth.router,
        orgs.router,
        products.router,
        people.students,
        people.educators,
        settings.router,
        classes.router,
    ):
        app.include_router(router, prefix=API)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse(f"{API}/docs")

    return app
