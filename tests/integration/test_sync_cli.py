"""`rollbook sync`, `runs`, `approve`, `discard`, `org set --threshold` and `generate` on a
real database (interfaces.md exit codes), checked through the API."""

from __future__ import annotations

import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from rollbook.cli import app
from rollbook.store.db import Database
from rollbook.store.sync_tables import SyncLock
from rollbook.sync.engine import holder_name, release
from tests.factories import Roster
from tests.integration.helpers import walk
from tests.integration.syncing import Sis
from tests.oneroster import district

runner = CliRunner()


@pytest.fixture
def cli(backend: str, db: object, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    import rollbook.cli_sync  # noqa: F401 - registers the sync commands, as main() does

    monkeypatch.setenv("ROLLBOOK_DATABASE_URL", backend)
    return runner


def invoke(cli: CliRunner, *args: str, code: int = 0) -> Result:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def sync_json(cli: CliRunner, slug: str, path: Path, *extra: str, code: int = 0) -> dict[str, Any]:
    """`rollbook sync --json`: standard output is exactly the run object."""
    result = invoke(cli, "sync", slug, str(path), "--json", *extra, code=code)
    run: dict[str, Any] = json.loads(result.stdout)
    return run


def test_r21_sync_applies_and_json_is_exactly_the_api_run(
    cli: CliRunner, roster: Roster, tmp_path: Path
) -> None:
    snap = district(students=4, teachers=1, classes=2)
    snap.product("c1", "ill")
    run = sync_json(cli, roster.slug, snap.write(tmp_path / "day1"))
    assert run["status"] == "applied"
    assert run["counts"]["students"]["created"] == 4
    api = roster.district_admin().api
    assert api.ok("GET", f"syncs/{run['id']}") == run
    assert len(walk(api, "students")) == 4
    # The same snapshot as a zip: nothing to do, and the report says so.
    again = sync_json(cli, roster.slug, snap.zip(tmp_path / "day1.zip"))
    assert again["counts"]["students"]["unchanged"] == 4
    assert api.ok("GET", f"syncs/{again['id']}/changes")["items"] == []


def test_r21_sync_prints_a_report_for_people(
    cli: CliRunner, roster: Roster, tmp_path: Path
) -> None:
    snap = district(students=2)
    snap.student("u3", "bad", grades="Grade 3")
    result = invoke(cli, "sync", roster.slug, str(snap.write(tmp_path / "s")))
    assert "applied" in result.stdout
    assert "Errors (rows skipped): 1" in result.stdout
    assert "users.csv line 4, column grades" in result.stdout


def test_r21_dry_run_exits_0_and_changes_nothing(
    cli: CliRunner, roster: Roster, tmp_path: Path
) -> None:
    path = district(students=3).write(tmp_path / "s")
    run = sync_json(cli, roster.slug, path, "--dry-run")
    assert (run["status"], run["dry_run"]) == ("previewed", True)
    assert run["counts"]["students"]["created"] == 3
    assert walk(roster.district_admin().api, "students", status="all") == []


def test_r20_held_run_exits_3_then_approve_and_discard(
    cli: CliRunner, roster: Roster, tmp_path: Path
) -> None:
    snap = district(students=10)
    sync_json(cli, roster.slug, snap.write(tmp_path / "day1"))
    day2 = snap.copy()
    for n in (1, 2):
        day2.remove_user(f"u{n}")
    held = sync_json(cli, roster.slug, day2.write(tmp_path / "day2"), code=3)
    assert (held["status"], held["would_need_approval"]) == ("needs_approval", True)
    listed = invoke(cli, "runs", roster.slug).stdout
    assert "needs_approval" in listed and held["id"] in listed
    preview = invoke(cli, "sync", roster.slug, str(tmp_path / "day2"), "--dry-run", code=0)
    assert "must approve" in preview.stdout
    approved = invoke(cli, "approve", roster.slug, held["id"])
    assert "applied" in approved.stdout
    api = roster.district_admin().api
    assert api.ok("GET", f"syncs/{held['id']}")["status"] == "applied"
    assert len(walk(api, "students")) == 8
    result = invoke(cli, "approve", roster.slug, held["id"], code=2)
    assert "not waiting" in result.stderr
    invoke(cli, "discard", roster.slug, held["id"], code=2)
    # Another held run, discarded.
    day3 = day2.copy()
    for n in (3, 4):
        day3.remove_user(f"u{n}")
    again = sync_json(cli, roster.slug, day3.write(tmp_path / "day3"), code=3)
    assert "discarded" in invoke(cli, "discard", roster.slug, again["id"]).stdout
    assert len(walk(api, "students")) == 8
    invoke(cli, "approve", roster.slug, again["id"], code=2)


def test_r20_org_set_threshold_lets_a_larger_run_through(
    cli: CliRunner, roster: Roster, tmp_path: Path
) -> None:
    snap = district(students=10)
    sync_json(cli, roster.slug, snap.write(tmp_path / "day1"))
    assert "threshold 40%" in invoke(cli, "org", "set", roster.slug, "--threshold", "40").stdout
    day2 = snap.copy()
    for n in (1, 2, 3, 4):
        day2.remove_user(f"u{n}")
    run = sync_json(cli, roster.slug, day2.write(tmp_path / "day2"))
    assert run["status"] == "applied"
    assert run["counts"]["students"]["deactivated"] == 4


def test_r20_deciding_an_unknown_run_is_a_message(cli: CliRunner, roster: Roster) -> None:
    result = invoke(cli, "approve", roster.slug, "999999999", code=1)
    assert "no such sync run" in result.stderr


def test_r22_unusable_snapshot_exits_2(cli: CliRunner, roster: Roster, tmp_path: Path) -> None:
    snap = district(students=2)
    snap.omit["users"] = {"username"}
    run = sync_json(cli, roster.slug, snap.write(tmp_path / "s"), code=2)
    assert run["status"] == "rejected"
    assert run["errors"][0]["message"].startswith("users.csv line 1, column username")
    result = invoke(cli, "sync", roster.slug, str(tmp_path / "s"), code=2)
    assert "users.csv line 1, column username" in result.stdout


def test_r22_archive_with_a_dotdot_entry_exits_2(
    cli: CliRunner, roster: Roster, tmp_path: Path
) -> None:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in district(students=1).files().items():
            archive.writestr(f"export/{name}", data)
        archive.writestr("export/../../outside.csv", b"x\n")
    run = sync_json(cli, roster.slug, path, code=2)
    assert [e["code"] for e in run["errors"]] == ["unsafe_name"]
    assert walk(roster.district_admin().api, "students", status="all") == []


@pytest.mark.parametrize("content", [None, b"PK\x03\x04 not really a zip"])
def test_r22_missing_or_unreadable_path_exits_2(
    cli: CliRunner, roster: Roster, tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "snapshot.zip"
    if content is not None:
        path.write_bytes(content)
    run = sync_json(cli, roster.slug, path, code=2)
    assert [e["code"] for e in run["errors"]] == ["unreadable_archive"]


def test_r18_sync_while_another_run_holds_the_lock_exits_1(
    cli: CliRunner, roster: Roster, sis: Sis, db: Database, tmp_path: Path
) -> None:
    holder = sis.queue()
    with db.writing() as session:
        # A live process holds the lock: the command line's own host and pid stand in for it.
        session.add(SyncLock(org_id=roster.org.id, run_id=holder, holder=holder_name()))
    try:
        run = sync_json(cli, roster.slug, district(students=1).write(tmp_path / "s"), code=1)
        assert run["status"] == "failed"
        assert f"another sync of this organization is running (run {holder})" in run["message"]
    finally:
        release(db, org_id=roster.org.id, run_id=holder)


def test_r2_sync_of_an_unknown_organization_is_a_message(cli: CliRunner, tmp_path: Path) -> None:
    slug = f"nowhere-{uuid.uuid4().hex[:8]}"
    result = invoke(cli, "sync", slug, str(district(students=1).write(tmp_path / "s")), code=1)
    assert f"no organization '{slug}'" in result.stderr


def test_r18_generate_writes_a_district_that_syncs(
    cli: CliRunner, roster: Roster, tmp_path: Path
) -> None:
    out = tmp_path / "gen"
    result = invoke(cli, "generate", str(out), "--students", "60", "--seed", "7", "--day", "2")
    assert "wrote" in result.stdout
    run = sync_json(cli, roster.slug, out)
    assert run["status"] == "applied"
    users = (out / "users.csv").read_text().count("stu-")
    assert run["counts"]["students"]["created"] == users
    again = sync_json(cli, roster.slug, out)
    assert again["counts"]["students"]["unchanged"] == users
