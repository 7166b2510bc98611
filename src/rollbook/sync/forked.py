"""A pure computation run on another core: a forked child process computes it from what the
parent holds and sends its value back, pickled through a pipe, while the parent does other
work. Python runs one thread at a time, so a second thread would not help; a child made by
`fork` starts at once, with the parent's memory shared until either writes to it.

The child must only compute: no database connection, no log, nothing shared with the
parent's other threads (it has none of them). A value or exception that cannot be pickled,
or a child that dies, is computed again in the parent: the result is always the same as
calling the function in place. Where `fork` is missing or fails, the function is called in
place.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_UNSET: Any = object()


class Forked(Generic[T]):
    """`function(*args)` started in a child process; `result()` waits for it."""

    def __init__(self, function: Callable[..., T], *args: Any) -> None:
        self._function = function
        self._args = args
        self._pid: int | None = None
        self._reader: int | None = None
        if not hasattr(os, "fork"):
            return
        reader, writer = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            # No process to be had (memory, process limits): `result()` computes in place.
            os.close(reader)
            os.close(writer)
            return
        if pid == 0:  # pragma: no cover - the child; its outcome is tested through result()
            os.close(reader)
            _child(writer, function, args)
        os.close(writer)
        self._pid, self._reader = pid, reader

    def result(self) -> T:
        """The function's value, or its exception raised here."""
        if self._pid is None or self._reader is None:
            return self._function(*self._args)
        with os.fdopen(self._reader, "rb") as stream:
            data = stream.read()
        self._reader = None
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        sent: tuple[bool, Any] | None = None
        if status == 0:
            # Written by the child this process forked, through a pipe only the two hold.
            with contextlib.suppress(Exception):
                sent = pickle.loads(data)  # noqa: S301
        if sent is None:
            # The child died or sent what cannot be read: compute it here.
            return self._function(*self._args)
        ok, value = sent
        if ok:
            return value  # type: ignore[no-any-return]
        assert isinstance(value, BaseException)
        raise value

    def cancel(self) -> None:
        """Stop the child, its value no longer wanted."""
        if self._pid is None:
            return
        with contextlib.suppress(OSError):
            os.kill(self._pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.waitpid(self._pid, 0)
        if self._reader is not None:
            os.close(self._reader)
        self._pid = self._reader = None


def _child(writer: int, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """Compute, send, and leave without running the parent's exit handlers."""
    code = 0
    try:
        try:
            sent: tuple[bool, Any] = (True, function(*args))
        except BaseException as error:
            sent = (False, error)
        try:
            payload = pickle.dumps(sent, pickle.HIGHEST_PROTOCOL)
        except Exception:
            payload = b""  # nothing the parent can read: it computes the value itself
        with os.fdopen(writer, "wb") as stream:
            stream.write(payload)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


class Later(Generic[T]):
    """A value for a forked computation that the parent works out after starting it: made
    before the `Forked` that uses it, `put` by the parent, and `get` by the computation. In
    the child, `get` waits for it; computed in place (no child, or a child that failed),
    `get` returns what the parent put."""

    def __init__(self) -> None:
        self._reader, self._writer = os.pipe()
        self._value: T = _UNSET
        self._parent = os.getpid()

    def put(self, value: T) -> None:
        """Give the value (once), to the child if it still waits for it."""
        self._value = value
        payload = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        self._close_reader()
        writer, self._writer = self._writer, -1
        try:
            with os.fdopen(writer, "wb") as stream:
                stream.write(payload)
        except OSError:
            pass  # the child is gone: whoever computes the value again gets it from here

    def get(self) -> T:
        """The value: in place, the one put; in the child, the one the parent sends."""
        if self._value is not _UNSET:
            return self._value
        if os.getpid() == self._parent or self._writer < 0:
            raise RuntimeError("the value was not put before it was wanted")
        # In the child: its copy of the writing end must be closed to see the end of it.
        os.close(self._writer)
        self._writer = -1
        with os.fdopen(self._reader, "rb") as stream:
            data = stream.read()
        self._reader = -1
        # Written by the process that forked this one, through a pipe only the two hold.
        value: T = pickle.loads(data)  # noqa: S301
        return value

    def close(self) -> None:
        """Give nothing after all (the computation was cancelled)."""
        self._close_reader()
        if self._writer >= 0:
            os.close(self._writer)
            self._writer = -1

    def _close_reader(self) -> None:
        if self._reader >= 0:
            os.close(self._reader)
            self._reader = -1
