"""SQLite's write turn (api.deps.WriteGate): while a request holds it, few request threads run
reads, so that the turn's own thread is not starved of the interpreter; the usual number
comes back when the turn ends, however it ends."""

from __future__ import annotations

import anyio
import anyio.to_thread
import pytest

from rollbook.api.deps import WriteGate
from rollbook.domain.errors import Busy
from tests.unit.api.loop import in_own_thread


def test_a_held_turn_leaves_the_reads_few_threads_until_it_ends() -> None:
    async def test() -> None:
        threads = anyio.to_thread.current_default_thread_limiter()
        threads.total_tokens = 4
        gate = WriteGate(wait=1, readers=2)
        async with gate.turn():
            assert threads.total_tokens == 2
        assert threads.total_tokens == 4
        with pytest.raises(RuntimeError):
            async with gate.turn():
                assert threads.total_tokens == 2
                raise RuntimeError("the route failed")
        assert threads.total_tokens == 4

    in_own_thread(test)


def test_fewer_usual_threads_than_the_turn_allows_stay_as_they_are() -> None:
    async def test() -> None:
        threads = anyio.to_thread.current_default_thread_limiter()
        threads.total_tokens = 1
        async with WriteGate(wait=1, readers=2).turn():
            assert threads.total_tokens == 1
        assert threads.total_tokens == 1

    in_own_thread(test)


def test_a_writer_that_waits_past_its_time_is_busy_and_changes_nothing() -> None:
    async def test() -> None:
        threads = anyio.to_thread.current_default_thread_limiter()
        threads.total_tokens = 4
        gate = WriteGate(wait=0.05, readers=2)
        holding, done = anyio.Event(), anyio.Event()

        async def hold() -> None:
            async with gate.turn():
                holding.set()
                await done.wait()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(hold)
            await holding.wait()
            with pytest.raises(Busy):
                async with gate.turn():
                    pass  # never reached: the other request holds the turn
            assert threads.total_tokens == 2
            done.set()
        assert threads.total_tokens == 4

    in_own_thread(test)


def test_a_writer_whose_time_ran_out_at_the_door_is_busy_even_with_the_turn_free() -> None:
    async def test() -> None:
        gate = WriteGate(wait=10, readers=2)
        with pytest.raises(Busy):
            async with gate.turn(deadline=anyio.current_time() - 0.01):
                raise AssertionError("the turn was given")
        async with gate.turn(deadline=anyio.current_time() + 1):
            pass

    in_own_thread(test)
