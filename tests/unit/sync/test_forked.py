"""A computation handed to a forked child gives what calling it in place gives: its value, its
exception, or, when the child dies or its answer cannot be sent, the value computed again
in the parent (sync/forked.py; the reading of a snapshot by its changes, sync/quick.py)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from rollbook.sync.forked import Forked, Later

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="this system has no fork")


class Refusal(Exception):
    pass


def _lines_of(data: bytes) -> dict[str, int]:
    return {"lines": data.count(b"\n"), "pid": os.getpid()}


def test_the_child_computes_from_the_parents_memory_and_sends_the_value() -> None:
    data = b"a,b\n" * 100_000  # held by the parent before the fork, never sent to the child
    found = Forked(_lines_of, data).result()
    assert found["lines"] == 100_000
    assert found["pid"] != os.getpid()  # computed in the child, not here


def _refuse(message: str) -> None:
    raise Refusal(message)


def test_an_exception_in_the_child_is_raised_in_the_parent() -> None:
    with pytest.raises(Refusal, match=r"enrollments\.csv changed too much"):
        Forked(_refuse, "enrollments.csv changed too much").result()


def _dies_in_the_child(parent: int) -> str:
    if os.getpid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
    return "computed here"


def test_a_child_that_dies_is_replaced_by_computing_in_the_parent() -> None:
    assert Forked(_dies_in_the_child, os.getpid()).result() == "computed here"


def _unpicklable(parent: int) -> object:
    here = os.getpid() == parent
    return lambda: here  # a lambda cannot be pickled: the child cannot send it


def test_a_value_the_child_cannot_send_is_computed_in_the_parent() -> None:
    made = Forked(_unpicklable, os.getpid()).result()
    assert callable(made) and made() is True


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def test_a_cancelled_child_is_stopped_and_reaped() -> None:
    started = time.monotonic()
    pending = Forked(_sleep, 60)
    pid = pending._pid
    assert pid is not None
    pending.cancel()
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie left


def test_without_fork_the_function_runs_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "fork")
    assert Forked(_lines_of, b"x\n").result() == {"lines": 1, "pid": os.getpid()}


def test_a_fork_that_fails_runs_the_function_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused() -> int:
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refused)
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    pending = Forked(_lines_of, b"x\n")
    assert pending.result() == {"lines": 1, "pid": os.getpid()}
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before  # the pipe was closed


def _halves(data: bytes, later: Later[int]) -> tuple[int, int, int]:
    """Part of the work before the parent's value is there, the rest after."""
    before = data.count(b"\n")
    return before, later.get(), os.getpid()


def test_a_value_put_after_the_start_reaches_the_child() -> None:
    later: Later[int] = Later()
    pending = Forked(_halves, b"a\n" * 1000, later)
    later.put(7)
    lines, given, pid = pending.result()
    assert (lines, given) == (1000, 7)
    assert pid != os.getpid()


def test_a_large_value_put_while_the_child_still_works_is_not_lost() -> None:
    later: Later[list[str]] = Later()
    pending = Forked(_sleep_then_get, 0.2, later)
    sent = [f"stu-{n}" for n in range(200_000)]  # far more than a pipe holds
    later.put(sent)
    assert pending.result() == (len(sent), sent[-1])


def _sleep_then_get(seconds: float, later: Later[list[str]]) -> tuple[int, str]:
    time.sleep(seconds)
    got = later.get()
    return len(got), got[-1]


def _dies_after_getting(parent: int, later: Later[int]) -> tuple[int, int]:
    value = later.get()
    if os.getpid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
    return value, os.getpid()


def test_a_child_that_dies_after_the_value_computes_it_again_here() -> None:
    later: Later[int] = Later()
    pending = Forked(_dies_after_getting, os.getpid(), later)
    later.put(5)
    assert pending.result() == (5, os.getpid())


def test_a_value_put_to_a_child_already_gone_is_kept_for_computing_here() -> None:
    later: Later[int] = Later()
    pending = Forked(_dies_in_the_child, os.getpid())  # does not wait for the value
    time.sleep(0.2)
    later.put(3)  # nobody reads: no error
    assert pending.result() == "computed here"
    assert later.get() == 3


def test_a_value_wanted_here_before_it_is_put_is_an_error_not_a_wait() -> None:
    later: Later[int] = Later()
    with pytest.raises(RuntimeError, match="not put"):
        later.get()
    later.close()


def test_a_cancelled_computation_leaves_no_pipe_open() -> None:
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    later: Later[int] = Later()
    pending = Forked(_halves, b"", later)
    pending.cancel()
    later.close()
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before
