"""A read's context worked out in its route's thread (api.deps.Deferred): the route sees the
value, never the Deferred, and a route that could not work it out is refused when declared."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient

from rollbook.api.deps import TurnRoute, deferring, later, read_session
from rollbook.store.db import Database


@deferring
async def answer(session: Annotated[object, Depends(read_session)]) -> int:
    return later(lambda: 42)


Answer = Annotated[int, Depends(answer)]


def test_a_plain_route_gets_the_value_worked_out_in_its_thread(tmp_path: Path) -> None:
    router = APIRouter(route_class=TurnRoute)

    @router.get("/answer")
    def route(value: Answer) -> dict[str, object]:
        return {"value": value, "type": type(value).__name__}

    app = FastAPI()
    app.state.db = Database.connect(f"sqlite:///{tmp_path / 'rollbook.db'}")
    app.include_router(router)
    assert TestClient(app).get("/answer").json() == {"value": 42, "type": "int"}


def test_an_async_route_cannot_take_a_deferred_dependency() -> None:
    router = APIRouter(route_class=TurnRoute)
    with pytest.raises(TypeError, match="deferred"):

        @router.get("/answer")
        async def route(value: Answer) -> int:
            return value
