"""A server process freezes what it holds once started (cli.settled): full collections of the
cycle collector no longer walk it while requests wait."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from rollbook.cli import settled


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_a_settled_application_leaves_what_it_holds_to_the_permanent_generation() -> None:
    application = FastAPI()
    routes = application.router.routes
    assert gc.get_freeze_count() == 0
    assert any(o is routes for o in gc.get_objects())
    assert settled(application) is application
    assert gc.get_freeze_count() > 0
    # Frozen objects are in no generation the collector walks.
    assert not any(o is routes for o in gc.get_objects())
