"""Token sign-in (interfaces.md: POST /api/v1/auth/token)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request

from rollbook.api import schemas
from rollbook.api.deps import TurnRoute, WriteSession, settings
from rollbook.config import Settings
from rollbook.services import auth

router = APIRouter(route_class=TurnRoute, tags=["sign-in"], responses=schemas.ERRORS)


@router.post("/auth/token", response_model=schemas.TokenOut, operation_id="sign_in")
def sign_in(
    request: Request,
    session: WriteSession,
    config: Annotated[Settings, Depends(settings)],
    username: Annotated[str, Form(max_length=255)],
    password: Annotated[str, Form(max_length=1024)],
    org: Annotated[str, Form(max_length=63)] = "",
) -> dict[str, Any]:
    """A bearer token for an educator of `org` (or an operator, with `org` empty)."""
    limiter: auth.SignInLimiter = request.app.state.sign_in_limiter
    limiter.check(session, org, username, request.client.host if request.client else "")
    session.commit()  # the attempt counts whatever follows
    issued = auth.sign_in(
        session,
        org_slug=org,
        username=username,
        password=password,
        ttl_seconds=config.token_ttl_seconds,
    )
    session.commit()
    return {"access_token": issued.token, "token_type": "bearer", "expires_in": issued.expires_in}
