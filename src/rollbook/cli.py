"""The `rollbook` command (interfaces.md, "Command line"). Thin: each command calls services."""

from __future__ import annotations

import gc
import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.orm import Session

from rollbook.config import Settings, setting_problems
from rollbook.domain.errors import RollbookError
from rollbook.domain.permissions import Actor
from rollbook.services import auth, orgs, people
from rollbook.store.db import Database
from rollbook.store.models import Org, Person

if TYPE_CHECKING:
    from fastapi import FastAPI

app = typer.Typer(
    help="rollbook: a school district's roster, where the SIS sync and hand edits live together.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
org_app = typer.Typer(help="Organizations (districts).", no_args_is_help=True)
school_app = typer.Typer(help="Schools of an organization.", no_args_is_help=True)
educator_app = typer.Typer(help="Educators and their sign-in accounts.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
operator_app = typer.Typer(help="Operators: the people who run rollbook.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(school_app, name="school")
app.add_typer(educator_app, name="educator")
app.add_typer(apikey_app, name="apikey")
app.add_typer(operator_app, name="operator")

# Tables keep their columns when the output goes to a file or a pipe.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def open_database(
    *, cache_mib: int | None = None, connect: Callable[[Settings], Database] | None = None
) -> Database:
    """The configured database, with its schema brought up to date (every command does this):
    a command's two connections (with `cache_mib` of page cache, SQLite), or as `connect`
    opens it (the server's: app.server_database)."""
    settings = Settings()
    try:
        if connect is None:
            db = Database.connect(settings.database_url, pool_size=2, cache_mib=cache_mib)
        else:
            db = connect(settings)
        db.migrate()
    except Exception as error:
        fail(f"cannot open the database {settings.database_url!r}: {error}")
    return db


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A session that commits when the command succeeds; rule violations become messages."""
    db = open_database()
    try:
        with db.writing() as session:
            yield session
    except RollbookError as error:
        details = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in error.details)
        fail(details if details and error.code == "validation_error" else error.message)
    finally:
        db.dispose()


def command_line_actor(org: Org | None) -> Actor:
    """The command line acts with an operator's and a district administrator's rights."""
    who = os.environ.get("USER") or "operator"
    return Actor(
        "operator",
        f"cli:{who}",
        f"command line ({who})",
        org.id if org else None,
        role="district_admin",
        school_ids=None,
    )


def read_password(from_stdin: bool) -> str | None:
    """The first line of standard input, or a hidden prompt on a terminal, or none."""
    if from_stdin:
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat the password: "):
            fail("the two passwords differ")
        return first
    return None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Server processes (default: ROLLBOOK_WORKERS, else 1); about one per core.",
        ),
    ] = None,
) -> None:
    """Serve the web pages and the API."""
    import uvicorn

    from rollbook.app import create_app, server_database

    settings = Settings()
    processes = workers or settings.workers
    # The server's own connections (the configured pool, SQLite's memory map), not the two
    # of a command: with 64 clients those ran dry and requests failed (bench/load.py).
    db = open_database(connect=server_database)
    out.print(
        f"rollbook on http://{host}:{port}/  (API: /api/v1, database: {settings.database_url}"
        f"{f', {processes} processes' if processes > 1 else ''})"
    )
    if processes == 1:
        uvicorn.run(settled(create_app(settings, db=db)), host=host, port=port, log_level="info")
        return
    # The schema is brought up to date once, here; each process then opens its own pool.
    db.dispose()
    uvicorn.run(
        "rollbook.cli:served_app",
        factory=True,
        host=host,
        port=port,
        workers=processes,
        log_level="info",
    )


def served_app() -> FastAPI:
    """The application of one server process of `rollbook serve --workers N`: `create_app`
    opens the configured database with the server's pool, already migrated by `serve`."""
    from rollbook.app import create_app

    return settled(create_app())


def settled(application: FastAPI) -> FastAPI:
    """A server process's application, with what the process holds once started (modules,
    the schema, the routes) out of the cycle collector's way (`gc.freeze`): every full
    collection walked all of it while every request in flight waited. Under bench.load (SQLite,
    64 clients, 40 s) the full collections took 706 ms in all, 107 ms the longest; frozen, 75
    ms and 14 ms."""
    gc.collect()
    gc.freeze()
    return application


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve afterwards.")
    ] = True,
) -> None:
    """Create (or refresh) the `demo` organization with sign-in accounts, then serve."""
    from rollbook.demo import build_demo, sync_demo
    from rollbook.domain.catalogue import load_catalogue

    with unit_of_work() as session:
        accounts = build_demo(session)
    db = open_database()
    run = sync_demo(db, load_catalogue(Settings().catalogue))
    db.dispose()
    if run is not None:
        students = run.counts["students"]
        out.print(
            f"First sync of the demo SIS: {run.status}, {students['created']} students created, "
            f"{students['adopted']} adopted (the hand-made Timothy is the SIS's Tim)",
            highlight=False,
        )
    out.print("[bold]The demo district is ready.[/] Sign in with:")
    for account in accounts:
        out.print(
            f"  {account.label:<26} org [cyan]demo[/]  username [cyan]{account.username}[/]"
            f"  password [cyan]{account.password}[/]",
            highlight=False,
        )
    out.print(
        "  API: curl -d org=demo -d username=ada.admin -d password=rollbook-admin "
        f"http://{host}:{port}/api/v1/auth/token",
        highlight=False,
    )
    if serve_after:
        serve(host=host, port=port)


@org_app.command("create")
def org_create(
    slug: Annotated[str, typer.Argument(help="Short name used in addresses, e.g. springfield.")],
    name: Annotated[str, typer.Option(help="The district's name.")],
    threshold: Annotated[int | None, typer.Option(help="R20 safety threshold, percent.")] = None,
) -> None:
    """Create an organization."""
    with unit_of_work() as session:
        org = orgs.create_org(
            session, actor=None, slug=slug, name=name, threshold_percent=threshold
        )
        out.print(f"created organization {org.slug} ({org.name})", highlight=False)


@org_app.command("set")
def org_set(
    org: Annotated[str, typer.Argument(help="The organization's slug.")],
    threshold: Annotated[int, typer.Option(help="R20 safety threshold, percent (0-100).")],
) -> None:
    """Change an organization's settings."""
    with unit_of_work() as session:
        found = orgs.find(session, slug=org)
        orgs.set_threshold(session, org=found, percent=threshold)
        out.print(f"{found.slug}: threshold {found.threshold_percent}%", highlight=False)


@school_app.command("create")
def school_create(
    org: Annotated[str, typer.Argument(help="The organization's slug.")],
    name: Annotated[str, typer.Option(help="The school's name.")],
    external_id: Annotated[str | None, typer.Option(help="The SIS's id of the school.")] = None,
) -> None:
    """Create a school by hand."""
    with unit_of_work() as session:
        found = orgs.find(session, slug=org)
        school = orgs.create_school(
            session, actor=None, org=found, name=name, external_id=external_id
        )
        out.print(f"created school {school.id} ({school.name})", highlight=False)


@educator_app.command("create")
def educator_create(
    org: Annotated[str, typer.Argument(help="The organization's slug.")],
    username: Annotated[str, typer.Option(help="Sign-in name, unique in the organization.")],
    first_name: Annotated[str, typer.Option(help="First name.")],
    last_name: Annotated[str, typer.Option(help="Last name.")],
    role: Annotated[str, typer.Option(help="teacher or administrator.")],
    school: Annotated[
        list[str] | None, typer.Option(help="A school id or external id; repeat for several.")
    ] = None,
    scope: Annotated[
        str | None, typer.Option(help="For administrators: school (default) or district.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a sign-in account: a manual educator with a password."""
    password = read_password(password_stdin)
    with unit_of_work() as session:
        found = orgs.find(session, slug=org)
        data: dict[str, object] = {
            "username": username,
            "first_name": first_name,
            "last_name": last_name,
            "role": role,
            "school_ids": list(school or []),
        }
        if scope is not None:
            data["admin_scope"] = scope
        loaded = people.create(
            session, actor=command_line_actor(found), org=found, kind="educator", data=data
        )
        if password is not None:
            auth.set_password(session, person=loaded.person, password=password)
        note = "with a password" if password is not None else "without a password (cannot sign in)"
        out.print(
            f"created educator {loaded.person.id} {_name(loaded.person)} {note}", highlight=False
        )


def _name(person: Person) -> str:
    return f"{person.first_name} {person.last_name} ({person.username})"


@apikey_app.command("create")
def apikey_create(
    org: Annotated[str | None, typer.Argument(help="The organization's slug.")] = None,
    operator: Annotated[
        bool, typer.Option("--operator", help="A key for operators instead of one organization.")
    ] = False,
    name: Annotated[str, typer.Option(help="What the key is for.")] = "API key",
) -> None:
    """Print a new API key, once: only its hash is kept."""
    if (org is None) == (not operator):
        fail("name an organization, or pass --operator for an operator's key", code=2)
    with unit_of_work() as session:
        found = orgs.find(session, slug=org) if org else None
        key = auth.create_api_key(session, org=found, name=name)
    err.print("Keep this key now: it is shown only once.")
    out.print(key, highlight=False)


@operator_app.command("create")
def operator_create(
    username: Annotated[str, typer.Argument(help="The operator's sign-in name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create an operator account (signs in with an empty organization)."""
    password = read_password(password_stdin)
    if password is None:
        fail("an operator needs a password: pass --password-stdin", code=2)
    with unit_of_work() as session:
        auth.create_operator(session, username=username, password=password)
    out.print(f"created operator {username}", highlight=False)


def main() -> None:
    import rollbook.cli_sync  # noqa: F401 - registers the sync commands

    try:
        Settings()
    except ValidationError as error:
        # Every command reads them: a wrong one is named before any command starts.
        for problem in setting_problems(error):
            err.print(f"[bold red]error:[/] {problem}", highlight=False)
        raise SystemExit(2) from None
    app()
