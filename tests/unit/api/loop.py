"""Async unit tests on an event loop of their own."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable

import anyio


def in_own_thread(test: Callable[[], Awaitable[None]]) -> None:
    """Run an async test on an event loop of its own thread: the test process may hold a
    running loop already (Playwright's synchronous API leaves one in the main thread)."""
    failed: list[BaseException] = []

    def target() -> None:
        try:
            anyio.run(test)
        except BaseException as error:  # re-raised in the test's thread
            failed.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
