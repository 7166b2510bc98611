"""A computation handed to a forked child gives what calling it in place gives: its value, its
exception, or, when the child dies or its answer cannot be sent, the value computed again
in the parent (sync/forked.py; the reading of a snapshot by its changes, sync/quick.py)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from rollbook.sync.forked import Forked

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
