"""What every route needs: a database session, the actor behind the credential, the org."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, cast

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from rollbook.config import Settings
from rollbook.domain.catalogue import Catalogue
from rollbook.domain.errors import Busy, Problem, Unauthenticated, ValidationFailed
from rollbook.domain.permissions import Action, Actor, require
from rollbook.domain.values import is_digits
from rollbook.services import auth
from rollbook.services import orgs as org_service
from rollbook.store.db import WRITE_WAIT_SECONDS, Database
from rollbook.store.models import Org

T = TypeVar("T")
D = TypeVar("D", bound=Callable[..., Any])

# The dependencies that only read the request or the application are `async def`: FastAPI
# runs a plain `def` dependency in its thread pool, a hand-over that cost more than the work.


async def refuse_nul(request: Request) -> None:
    """No address or query parameter holds a NUL character: PostgreSQL text cannot.

    Runs before every other dependency of an API route, so no query ever sees one.
    """
    params = [*request.path_params.items(), *request.query_params.multi_items()]
    bad = dict.fromkeys(name for name, value in params if "\x00" in str(value))
    if bad:
        raise ValidationFailed(
            [Problem(name, "must not contain control characters") for name in bad]
        )


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def settings(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


async def catalogue(request: Request) -> Catalogue:
    found: Catalogue = request.app.state.catalogue
    return found


def close_session(session: Session) -> None:
    """Ends a request's session: what the route did not commit is rolled back. `close` rolls
    the connection's transaction back itself; `rollback` first would also expire every object
    the session loaded, only to drop them (a twentieth of a list's processor time)."""
    session.close()


async def read_session(request: Request) -> AsyncIterator[Session]:
    """A reading request's session. Making it touches no database, so it is made here, not
    in a request thread; the route's thread ends it when the route returns (TurnRoute), and
    this ends it only if no route ran (an answer before it, such as 401): a read hands over
    to the request threads twice (its actor, its route) instead of four times."""
    session = database(request).session(write=False)
    _READING.set(session)
    try:
        yield session
    finally:
        _READING.set(None)
        if session.in_transaction():  # else the route's thread ended it, or nothing began
            close_session(session)


# Request threads that may run reads while a request holds SQLite's write turn (WriteGate).
# Two while a read handed over twice (its actor, then its route); once a read ran whole in
# one thread (Deferred), two readers kept the turn's thread from the interpreter longer:
# under bench.load with syncs, edits p50 826-954 ms and p99 of all 1,344-1,534 ms with two,
# 729-774 ms and 1,219-1,303 ms with one (docs/reliability.md, "Load", ninth session).
READERS_IN_TURN = 1


class WriteGate:
    """SQLite has one writer. Requests that write wait for their turn here, in order and
    without holding a thread or a pooled connection, so that while a sync's transaction holds
    the writer the requests that read keep their connections and their speed; past `wait`
    seconds a request gives up with 503 busy (nothing written). Without it every waiting
    writer held a connection, and with 64 clients the pool ran dry: reads failed with 500
    after 30 s (bench/load.py).

    The request holding the turn runs its database work in a thread of its own (`lane`)
    instead of queueing for the request threads behind the reads: every hand-over to that
    queue was time the turn was held and every other writer waited (docs/reliability.md,
    "Load").

    While a request holds the turn, at most `readers` request threads run reads: the turn's
    thread competes with them for the one interpreter, and with all of them running an edit
    held the turn for 27 ms (median) for 4 ms of its own work while the other writers queued
    (bench/load.py; docs/reliability.md, "Load", eighth session)."""

    def __init__(self, wait: float = WRITE_WAIT_SECONDS, readers: int = READERS_IN_TURN) -> None:
        self.wait = wait
        self.readers = readers
        self._lock = anyio.Lock()
        self.lane = anyio.CapacityLimiter(1)

    @asynccontextmanager
    async def turn(self, deadline: float | None = None) -> AsyncIterator[None]:
        """The turn, waited for until `deadline` (the event loop's clock), else `wait`
        seconds from now; Busy past it."""
        if deadline is None:
            deadline = anyio.current_time() + self.wait
        try:
            with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                await self._lock.acquire()
        except TimeoutError:
            raise Busy() from None
        threads = anyio.to_thread.current_default_thread_limiter()
        usual = threads.total_tokens
        threads.total_tokens = min(usual, self.readers)
        try:
            yield
        finally:
            threads.total_tokens = usual
            self._lock.release()


# Where the door (app.Admission) leaves when a short write's wait for its turn ends, in the
# request's scope state: the wait counts from its arrival, not from its turn in the door.
WRITE_DEADLINE = "rollbook_write_deadline"

# The threads the current request writes in: the write turn's own thread on SQLite, the
# writes' threads on PostgreSQL; None for a read.
_TURN: ContextVar[anyio.CapacityLimiter | None] = ContextVar("rollbook_write_turn", default=None)


async def write_turn(request: Request) -> AsyncIterator[None]:
    """A writing request's turn (SQLite: see WriteGate). PostgreSQL writes concurrently, in
    threads of the writes' own (`app.state.write_threads`): a write waiting for a row that a
    sync's transaction holds waits in one of those, never in a thread the reads need."""
    gate: WriteGate | None = getattr(request.app.state, "write_gate", None)
    turn: AbstractAsyncContextManager[None] = contextlib.nullcontext()
    threads: anyio.CapacityLimiter | None = getattr(request.app.state, "write_threads", None)
    if gate is not None:
        turn, threads = gate.turn(request.scope.get("state", {}).get(WRITE_DEADLINE)), gate.lane
    async with turn:
        _TURN.set(threads)
        try:
            yield
        finally:
            _TURN.set(None)


# A route that writes by its own session (the pages' sign-in and sign-out) takes the turn.
WriteTurn = Annotated[None, Depends(write_turn, scope="function")]


async def in_turn(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`func(*args, **kwargs)` in a thread: the write turn's own if this request holds it
    (SQLite), else one of the request threads."""
    call = functools.partial(func, *args, **kwargs)
    return await anyio.to_thread.run_sync(call, limiter=_TURN.get())


class Deferred(Generic[T]):
    """A dependency's value worked out in its route's own thread, just before the route runs
    (TurnRoute): a read's actor and organization are looked up in the thread that runs the
    route, one hand-over to the request threads per read instead of two (FastAPI runs a
    plain `def` dependency in a thread of its own). A `deferring` dependency returns one."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], T]) -> None:
        self.make = make


def later(make: Callable[..., T], /, *args: Any) -> T:
    """`make(*args)` as a deferring dependency returns it: a Deferred, which the route's
    thread replaces with the value before the route sees it (typed as the value)."""
    return cast(T, Deferred(functools.partial(make, *args)))


# The dependencies that return a Deferred in place of their value.
_DEFERRING: set[Callable[..., Any]] = set()


def deferring(dependency: D) -> D:
    _DEFERRING.add(dependency)
    return dependency


class TurnRoute(APIRoute):
    """A route of the API or the pages. When its request takes the write turn (one of its
    dependencies is write_turn), its plain `def` endpoint runs through in_turn: in the turn's
    own thread on SQLite, never queued behind the reads while every other writer waits. A
    plain `def` endpoint ends its request's session in its own thread when it returns, and
    works out its Deferred dependencies in that thread before it runs."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if inspect.iscoroutinefunction(endpoint):
            if any(_takes(self.dependant, d) for d in _DEFERRING):
                raise TypeError(f"{path}: an async route cannot take a deferred dependency")
            return
        if _takes(self.dependant, write_turn):
            super().__init__(path, _through_turn(endpoint), **kwargs)
        elif _takes(self.dependant, read_session):
            super().__init__(path, _reading(endpoint), **kwargs)


def _takes(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _takes(d, call) for d in dependant.dependencies)


def _through_turn(endpoint: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    @functools.wraps(endpoint)
    async def run(**values: Any) -> T:
        return await in_turn(_then_ended, endpoint, values, _WRITING)

    return run


def _reading(endpoint: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(endpoint)
    def run(**values: Any) -> T:
        return _then_ended(endpoint, values, _READING)

    return run


def _then_ended(
    endpoint: Callable[..., T], values: dict[str, Any], current: ContextVar[Session | None]
) -> T:
    """The endpoint (its Deferred values worked out first), then its request's session ended
    in the same thread, one hand-over fewer (read_session and write_session find it ended:
    no transaction left)."""
    try:
        for name, value in values.items():
            if isinstance(value, Deferred):
                values[name] = value.make()
        return endpoint(**values)
    finally:
        session = current.get()
        if session is not None:
            close_session(session)


# The current request's write and read sessions.
_WRITING: ContextVar[Session | None] = ContextVar("rollbook_write_session", default=None)
_READING: ContextVar[Session | None] = ContextVar("rollbook_read_session", default=None)


async def write_session(request: Request, _turn: WriteTurn) -> AsyncIterator[Session]:
    # Writing requests take SQLite's write lock at their first statement (see store/db.py);
    # making the session touches no database. Both dependencies end when the route returns
    # (scope="function"), not once the answer is sent: the turn to write is not held while
    # the response is serialized and sent.
    session = database(request).session(write=True)
    _WRITING.set(session)
    try:
        yield session
    finally:
        _WRITING.set(None)
        if session.in_transaction():  # else the route's thread ended it, or nothing began
            await close_in_turn(session)


async def close_in_turn(session: Session) -> None:
    """close_session in the write turn's thread (PostgreSQL: a thread of its own, as FastAPI
    ends a `def` dependency, never queued behind requests that may wait for this connection),
    even if the request is being cancelled (a client gone): the connection goes back to the
    pool and the turn is not left half-held."""
    limiter = _TURN.get() or anyio.CapacityLimiter(1)
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(close_session, session, limiter=limiter)


WriteSession = Annotated[Session, Depends(write_session, scope="function")]


_bearer = HTTPBearer(
    auto_error=False,
    description="An API key (`rbk_…`) or a token from POST /api/v1/auth/token (`rbt_…`).",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _unknown() -> Unauthenticated:
    return Unauthenticated("this API key or token is unknown, revoked or expired")


def _no_credential() -> Unauthenticated:
    return Unauthenticated("sign in first: send an API key or a token as a Bearer credential")


def _credential(credentials: HTTPAuthorizationCredentials | None) -> str:
    """The credential sent; 401 when there is none (or only blanks)."""
    given = credentials.credentials.strip() if credentials is not None else ""
    if not given:
        raise _no_credential()
    return given


def signed_in(session: Session, credentials: HTTPAuthorizationCredentials | None) -> Actor:
    actor = auth.actor_for(session, _credential(credentials))
    if actor is None:
        raise _unknown()
    return actor


@dataclass(frozen=True, slots=True)
class Ctx:
    """One request's session, actor and organization."""

    session: Session
    actor: Actor
    org: Org


@deferring
async def read_ctx(
    org: str,
    session: Annotated[Session, Depends(read_session)],
    credentials: Credentials,
) -> Ctx:
    """A reading request's context, worked out in its route's thread (Deferred). A request
    without a credential is refused here, before its parameters are checked."""
    _credential(credentials)
    return later(_ctx, org, session, credentials)


def _ctx(org: str, session: Session, credentials: HTTPAuthorizationCredentials | None) -> Ctx:
    """Who asks and the organization they address, read together (auth.actor_at)."""
    actor, found = auth.actor_at(session, _credential(credentials), org)
    if actor is None:
        raise _unknown()
    return Ctx(session, actor, org_service.reached(actor, found))


@dataclass(frozen=True, slots=True)
class Reached:
    """Who writes, and the organization they reached, read before the write turn."""

    actor: Actor
    org: Org  # detached from the session that read it


def reached(request: Request, org: str, credentials: Credentials) -> Reached:
    """A writing request's actor and organization, read by a reading session in a request
    thread, before the request takes the write turn: while a request holds the turn (one at a
    time on SQLite) it only writes."""
    with _briefly(request) as session:
        ctx = _ctx(org, session, credentials)
        session.expunge(ctx.org)
        return Reached(ctx.actor, ctx.org)


async def write_ctx(
    found: Annotated[Reached, Depends(reached)],
    session: WriteSession,
) -> Ctx:
    # The organization as read, attached to the writing session without reading it again.
    return Ctx(session, found.actor, session.merge(found.org, load=False))


def write_actor(request: Request, credentials: Credentials) -> Actor:
    """The signed-in actor of a writing request outside any organization, read before the
    request takes the write turn (see `reached`).

    As a dependency it runs before the body is read: no credential is 401, never 422.
    """
    with _briefly(request) as session:
        return signed_in(session, credentials)


@contextmanager
def _briefly(request: Request) -> Iterator[Session]:
    """A reading session for one short look, in the calling thread."""
    session = database(request).session(write=False)
    try:
        yield session
    finally:
        close_session(session)


def guard(action: Action) -> Any:
    """A route dependency: the actor's role may take `action` (R1-R3), checked before the
    request body is, so a role that may not write hears 403, not what is wrong with its body."""

    async def check(ctx: Annotated[Ctx, Depends(write_ctx)]) -> None:
        require(ctx.actor, action)

    return Depends(check)


def guard_actor(action: Action) -> Any:
    """`guard` for a route outside any organization (organizations themselves): the role is
    checked before the body, so a role that may not hears 403, not what its body lacks."""

    async def check(actor: Annotated[Actor, Depends(write_actor)]) -> None:
        require(actor, action)

    return Depends(check)


ReadCtx = Annotated[Ctx, Depends(read_ctx)]
WriteCtx = Annotated[Ctx, Depends(write_ctx)]
WriteActor = Annotated[Actor, Depends(write_actor)]
CatalogueDep = Annotated[Catalogue, Depends(catalogue)]


def parse_if_match(value: str | None) -> int | None:
    """`If-Match` carries the entity's version, quoted or not (W/ tolerated); `*` matches any."""
    if value is None:
        return None
    text = value.strip()
    if text == "*":
        return None
    text = text.removeprefix("W/").strip().strip('"')
    if not is_digits(text):
        raise ValidationFailed.one("If-Match", "must be the version from the ETag header")
    return int(text)


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}
