"""The door (app.Admission): short writes go in ahead of the waiting reads, never more of them
inside than their share, and a write that waited its whole time at the door goes in as a read
would (on SQLite its turn is then refused, 503 busy: api.deps.WriteGate)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from rollbook.api.deps import WRITE_DEADLINE
from rollbook.app import SHORT_WRITE_BYTES, Admission, short_write
from tests.unit.api.loop import in_own_thread


def _scope(name: str, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    return {"type": "http", "method": method, "path": f"/{name}", "headers": headers or []}


def _write(name: str) -> Any:
    return _scope(
        name, "PATCH", [(b"content-type", b"application/json"), (b"content-length", b"40")]
    )


class Inside:
    """An application that notes who came in and keeps each request until it is let go."""

    def __init__(self) -> None:
        self.came_in: list[str] = []
        self.scopes: dict[str, Any] = {}
        self._go: dict[str, anyio.Event] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        name = scope["path"][1:]
        self.came_in.append(name)
        self.scopes[name] = scope
        await self.go(name).wait()

    def go(self, name: str) -> anyio.Event:
        return self._go.setdefault(name, anyio.Event())


async def _nothing() -> Any:
    return {}


async def _ignore(message: Any) -> None:
    return None


async def _settle() -> None:
    for _ in range(10):
        await anyio.sleep(0)


async def _arrive(tasks: anyio.abc.TaskGroup, door: Admission, scope: Any) -> None:
    tasks.start_soon(door, scope, _nothing, _ignore)
    await _settle()


def test_short_writes_go_in_ahead_of_the_reads_waiting() -> None:
    async def test() -> None:
        inside = Inside()
        door = Admission(inside, 1, writes_first=1, wait=10)
        async with anyio.create_task_group() as tasks:
            await _arrive(tasks, door, _scope("read-1"))
            await _arrive(tasks, door, _scope("read-2"))
            await _arrive(tasks, door, _write("edit"))
            assert inside.came_in == ["read-1"]
            inside.go("read-1").set()
            await _settle()
            assert inside.came_in == ["read-1", "edit"]
            inside.go("edit").set()
            inside.go("read-2").set()
        assert inside.came_in == ["read-1", "edit", "read-2"]

    in_own_thread(test)


def test_writes_beyond_their_share_wait_while_reads_go_in() -> None:
    async def test() -> None:
        inside = Inside()
        door = Admission(inside, 3, writes_first=1, wait=10)
        async with anyio.create_task_group() as tasks:
            await _arrive(tasks, door, _write("edit-1"))
            await _arrive(tasks, door, _write("edit-2"))
            await _arrive(tasks, door, _scope("read"))
            assert inside.came_in == ["edit-1", "read"]
            inside.go("edit-1").set()
            await _settle()
            assert inside.came_in == ["edit-1", "read", "edit-2"]
            inside.go("edit-2").set()
            inside.go("read").set()

    in_own_thread(test)


def test_without_a_share_writes_wait_in_turn_with_the_reads() -> None:
    async def test() -> None:
        inside = Inside()
        door = Admission(inside, 1)
        async with anyio.create_task_group() as tasks:
            await _arrive(tasks, door, _scope("read-1"))
            await _arrive(tasks, door, _scope("read-2"))
            await _arrive(tasks, door, _write("edit"))
            for name in ("read-1", "read-2", "edit"):
                inside.go(name).set()
        assert inside.came_in == ["read-1", "read-2", "edit"]
        assert "state" not in inside.scopes["edit"]

    in_own_thread(test)


def test_a_write_that_waited_its_time_at_the_door_goes_in_with_its_time_up() -> None:
    async def test() -> None:
        inside = Inside()
        door = Admission(inside, 2, writes_first=1, wait=0.05)
        async with anyio.create_task_group() as tasks:
            await _arrive(tasks, door, _write("edit-1"))
            await _arrive(tasks, door, _write("edit-2"))
            assert inside.came_in == ["edit-1"]
            await anyio.sleep(0.1)
            assert inside.came_in == ["edit-1", "edit-2"]
            deadline = inside.scopes["edit-2"]["state"][WRITE_DEADLINE]
            assert deadline <= anyio.current_time()
            inside.go("edit-1").set()
            inside.go("edit-2").set()
        assert (door._free, door._writes_inside) == (2, 0)

    in_own_thread(test)


def test_a_client_gone_while_waiting_gives_up_its_place() -> None:
    async def test() -> None:
        inside = Inside()
        door = Admission(inside, 1, writes_first=1, wait=10)
        async with anyio.create_task_group() as tasks:
            await _arrive(tasks, door, _scope("read-1"))
            async with anyio.create_task_group() as gone:
                await _arrive(gone, door, _write("edit"))
                gone.cancel_scope.cancel()
            await _arrive(tasks, door, _scope("read-2"))
            inside.go("read-1").set()
            await _settle()
            assert inside.came_in == ["read-1", "read-2"]
            inside.go("read-2").set()
        assert (door._free, door._writes_inside, len(door._writes)) == (1, 0, 0)

    in_own_thread(test)


def test_a_client_gone_once_let_in_leaves_its_place_to_the_next() -> None:
    async def test() -> None:
        inside = Inside()
        door = Admission(inside, 1, writes_first=1, wait=10)
        async with anyio.create_task_group() as tasks:
            await _arrive(tasks, door, _write("edit-1"))
            async with anyio.create_task_group() as gone:
                await _arrive(gone, door, _write("edit-2"))
                await _arrive(tasks, door, _scope("read"))
                inside.go("edit-1").set()
                await _settle()
                assert inside.came_in == ["edit-1", "edit-2"]
                gone.cancel_scope.cancel()
            await _settle()
            assert inside.came_in == ["edit-1", "edit-2", "read"]
            inside.go("read").set()
        assert (door._free, door._writes_inside) == (1, 0)

    in_own_thread(test)


@pytest.mark.parametrize(
    ("method", "headers", "short"),
    [
        ("GET", [], False),
        ("HEAD", [], False),
        ("PATCH", [(b"content-type", b"application/json"), (b"content-length", b"120")], True),
        ("POST", [(b"content-type", b"application/x-www-form-urlencoded")], True),
        ("DELETE", [], True),
        ("POST", [(b"content-type", b"multipart/form-data; boundary=x")], False),
        ("POST", [(b"content-type", b"Multipart/Form-Data; boundary=x")], False),
        ("POST", [(b"content-length", str(SHORT_WRITE_BYTES + 1).encode())], False),
        ("POST", [(b"content-length", b"12; drop")], False),
    ],
)
def test_a_short_write_is_a_write_with_a_short_body_not_an_upload(
    method: str, headers: list[tuple[bytes, bytes]], short: bool
) -> None:
    assert short_write(_scope("x", method, headers)) is short
