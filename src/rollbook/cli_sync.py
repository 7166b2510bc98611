"""The sync commands of `rollbook`: sync, runs, approve, discard (interfaces.md exit codes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import IntegrityError

from rollbook.cli import app, command_line_actor, err, fail, open_database, out
from rollbook.config import Settings
from rollbook.domain.catalogue import load_catalogue
from rollbook.domain.errors import RollbookError
from rollbook.services import orgs, syncs
from rollbook.store.db import SYNC_CACHE_MIB, Database
from rollbook.store.sync_tables import SyncRun
from rollbook.sync.context import ENTITY_COUNTS
from rollbook.sync.copies import copies_for
from rollbook.sync.engine import Engine, RunBusy, claim, recover

EXIT = {"applied": 0, "previewed": 0, "needs_approval": 3, "rejected": 2, "failed": 1}
SHOWN = 20


def _engine(db: Database) -> Engine:
    settings = Settings()
    return Engine(
        db,
        load_catalogue(settings.catalogue),
        max_unpacked_bytes=settings.max_unpacked_bytes,
        copies=copies_for(settings.database_url, settings.snapshot_copies),
        own_process=True,
    )


def _view(db: Database, run_id: int) -> dict[str, Any]:
    with db.session(write=False) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        return syncs.run_view(session, run)


def print_report(view: dict[str, Any]) -> None:
    """A run's report for people: counts, then conflicts, errors and warnings."""
    counts = view["counts"]
    verb = "would be" if view["dry_run"] or view["status"] == "needs_approval" else "were"
    out.print(
        f"[bold]Sync run {view['id']}[/]: {view['status']}"
        f" ({view['mode'] or '?'} snapshot, OneRoster {view['oneroster_version'] or '?'})"
    )
    if view["message"]:
        out.print(view["message"], highlight=False)
    table = Table("", *ENTITY_COUNTS)
    for kind in ("students", "educators", "classes"):
        table.add_row(kind, *(str(counts[kind][k]) for k in ENTITY_COUNTS))
    out.print(table)
    enrollments, products = counts["enrollments"], counts["class_products"]
    out.print(
        f"enrollments +{enrollments['added']} -{enrollments['removed']}, "
        f"class products +{products['added']} -{products['removed']}, "
        f"product settings changed {counts['product_settings_changed']}, "
        f"manual edits that {verb} overwritten {counts['manual_edits_overwritten']}"
    )
    if view["would_need_approval"]:
        out.print(
            "[yellow]This run deactivates more than the organization's threshold allows: "
            "an administrator must approve it (rollbook approve).[/]"
        )
    sections = (
        ("Conflicts (not applied)", "conflicts"),
        ("Errors (rows skipped)", "errors"),
        ("Warnings", "warnings"),
    )
    for title, key in sections:
        items = view[key]
        total = counts[key]
        if not total:
            continue
        out.print(f"[bold]{title}: {total}[/]")
        for item in items[:SHOWN]:
            out.print(f"  {item['message']}", highlight=False)
        if total > SHOWN:
            out.print(f"  … and {total - SHOWN} more (GET /api/v1/orgs/<org>/syncs/{view['id']})")


@app.command("sync")
def sync_command(
    org: Annotated[str, typer.Argument(help="The organization's slug.")],
    path: Annotated[Path, typer.Argument(help="A OneRoster zip or folder.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Preview: change nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run object as JSON.")] = False,
) -> None:
    """Run a sync from a OneRoster zip or folder, then print its report.

    Exit status: 0 applied or previewed, 3 needs approval, 2 rejected, 1 failed.
    """
    db = open_database(cache_mib=SYNC_CACHE_MIB)
    try:
        with db.writing() as session:
            found = orgs.find(session, slug=org)
            run = syncs.start(
                session,
                actor=command_line_actor(found),
                org=found,
                source=str(path.resolve()),
                dry_run=dry_run,
            )
            run_id = run.id
            # R18: the run and its lock in one transaction, so that a process killed before
            # the run starts leaves a dead holder's lock (recovered by the next run), never a
            # run queued forever. A live holder: execute() makes that the run's outcome.
            try:
                with session.begin_nested():
                    claim(session, org_id=found.id, run_id=run_id)
            except (RunBusy, IntegrityError):
                pass
    except RollbookError as error:
        fail(error.message)
    recover(db)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("reading the snapshot", total=None)

        def report(name: str, count: int) -> None:
            progress.update(
                task, description=name if " " in name else f"reading {name}.csv", completed=count
            )

        _engine(db).execute(run_id, path, progress=report)
    view = _view(db, run_id)
    db.dispose()
    if as_json:
        typer.echo(json.dumps(view))
    else:
        print_report(view)
    raise typer.Exit(EXIT.get(view["status"], 1))


@app.command("runs")
def runs_command(org: Annotated[str, typer.Argument(help="The organization's slug.")]) -> None:
    """List an organization's sync runs, newest first."""
    db = open_database()
    with db.session(write=False) as session:
        try:
            found = orgs.find(session, slug=org)
        except RollbookError as error:
            fail(error.message)
        page = syncs.list_runs(session, actor=command_line_actor(found), org=found, limit=50)
        table = Table(
            "run", "status", "mode", "dry run", "started", "students", "conflicts", "errors"
        )
        for run in page.items:
            c = run.counts or {}
            students = c.get("students", {})
            summary = " ".join(f"{k[0]}{v}" for k, v in students.items() if v) or "-"
            table.add_row(
                str(run.id),
                f"{run.status}: {run.phase}" if run.phase else run.status,
                run.mode or "-",
                "yes" if run.dry_run else "",
                run.created_at.strftime("%Y-%m-%d %H:%M"),
                summary,
                str(c.get("conflicts", 0)),
                str(c.get("errors", 0)),
            )
        out.print(table)
    db.dispose()


def _decide(org: str, run: str, *, approve: bool) -> None:
    db = open_database(cache_mib=SYNC_CACHE_MIB)
    recover(db)
    try:
        with db.session(write=False) as session:
            found = orgs.find(session, slug=org)
            decided = syncs.decide(
                _engine(db),
                session=session,
                actor=command_line_actor(found),
                org=found,
                run_id=run,
                approve=approve,
            )
    except syncs.RunNotWaiting as error:
        fail(error.message, code=2)
    except RollbookError as error:
        fail(error.message)
    print_report(_view(db, decided.id))
    db.dispose()
    raise typer.Exit(0 if decided.status in ("applied", "discarded") else 1)


@app.command("approve")
def approve_command(
    org: Annotated[str, typer.Argument(help="The organization's slug.")],
    run: Annotated[str, typer.Argument(help="The run waiting for approval.")],
) -> None:
    """Apply a run held by the safety threshold (exit 2 if it is not waiting)."""
    _decide(org, run, approve=True)


@app.command("discard")
def discard_command(
    org: Annotated[str, typer.Argument(help="The organization's slug.")],
    run: Annotated[str, typer.Argument(help="The run waiting for approval.")],
) -> None:
    """Drop a run held by the safety threshold (exit 2 if it is not waiting)."""
    _decide(org, run, approve=False)


@app.command("generate")
def generate_command(
    out_dir: Annotated[
        Path, typer.Argument(metavar="OUT", help="Folder to write the CSV files to.")
    ],
    students: Annotated[int, typer.Option(min=1, help="Number of students on day 1.")],
    seed: Annotated[int, typer.Option(help="The same seed writes the same district.")] = 1,
    day: Annotated[
        int,
        typer.Option(min=1, help="Day d: d - 1 daily changes (1% changed, 0.5% gone, 0.5% new)."),
    ] = 1,
) -> None:
    """Write a synthetic OneRoster 1.2 district for tests and benchmarks."""
    from rollbook.generate import District, write_district

    counts = write_district(out_dir, District(students=students, seed=seed, day=day))
    summary = ", ".join(f"{n:,} {name}" for name, n in counts.items())
    out.print(f"wrote {out_dir}: {summary}", highlight=False)
