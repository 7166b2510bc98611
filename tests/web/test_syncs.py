"""The syncs pages: upload, preview (dry run), report, apply, approve or discard (R20-R22)."""

from __future__ import annotations

from rollbook.services import syncs
from rollbook.store.db import Database
from rollbook.store.sync_tables import SyncRun
from tests.factories import Roster
from tests.web.conftest import Pages, wait_for_run
from tests.web.html import parse
from tests.web.snapshot import Snapshot, district


def upload(admin: Pages, snapshot: Snapshot | bytes, **kw: object) -> object:
    payload = snapshot if isinstance(snapshot, bytes) else snapshot.zip()
    return admin.post("syncs", files={"file": ("sis.zip", payload, "application/zip")}, **kw)


def run_id_of(answer) -> str:  # type: ignore[no-untyped-def]
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"].rsplit("/", 1)[-1])


def preview(admin: Pages, db: Database, snapshot: Snapshot) -> tuple[str, object]:
    run = run_id_of(upload(admin, snapshot))
    assert wait_for_run(db, run) == "previewed"
    return run, parse(admin.get(f"syncs/{run}").text)


def apply(admin: Pages, db: Database, run: str) -> tuple[str, str]:
    real = run_id_of(admin.post(f"syncs/{run}/apply"))
    return real, wait_for_run(db, real)


def test_only_district_administrators_see_syncs(roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    assert "/syncs" not in teacher.get("students").text
    assert teacher.get("syncs").status_code == 403
    assert upload(teacher, district()).status_code == 403
    school_admin: Pages = pages(roster.school_admin())
    assert school_admin.get("syncs").status_code == 403
    admin: Pages = pages(roster.district_admin())
    page = parse(admin.get("syncs").text)
    assert page.find("a", href=f"/orgs/{roster.slug}/syncs").get("aria-current") == "page"
    assert "No syncs yet." in page.text


def test_preview_then_apply(roster: Roster, db: Database, pages) -> None:
    admin: Pages = pages(roster.district_admin())
    run, page = preview(admin, db, district(students=3))
    assert "This is a preview: nothing has changed yet." in page.text
    students = page.find("tr", data_counts="students")
    assert [td.text for td in students.find_all("td")][:1] == ["3"]
    groups = page.find(id="change-groups").find_all("li", data_entity_kind="student")
    assert len(groups) == 3 and "SIS id s-1" in groups[0].text
    assert "Ava Baker" not in admin.get("students").text  # nothing applied yet
    real, status = apply(admin, db, run)
    assert status == "applied"
    applied = parse(admin.get(f"syncs/{real}").text)
    assert "Applied" in applied.find(role="status").text
    listed = admin.get("students").text
    assert "Baker, Ava" in listed
    again = admin.post(f"syncs/{run}/apply")
    assert again.status_code == 409
    assert "can no longer be applied" in again.text
    runs = parse(admin.get("syncs").text)
    assert {r.get("data-status") for r in runs.find("tbody").find_all("tr")} == {
        "previewed",
        "applied",
    }


def test_the_report_lists_manual_edits_that_will_be_overwritten(
    roster: Roster, db: Database, pages
) -> None:
    admin: Pages = pages(roster.district_admin())
    snapshot = district(students=2)
    snapshot.users[1]["middleName"] = "Grace"
    run, _ = preview(admin, db, snapshot)
    apply(admin, db, run)
    ava = next(
        r.find("a").get("href")
        for r in parse(admin.get("students").text).find_all("tr")
        if "Baker" in r.text
    )
    assert admin.post(ava or "", {"middle_name": "Grace Anne"}).status_code == 303
    _, page = preview(admin, db, snapshot)
    overwritten = page.find(id="overwritten")
    assert overwritten
    assert page.find(data_count="manual_edits_overwritten").find("b").text == "1"
    assert "Grace Anne" in page.text and "manual edit overwritten" in page.text


def test_a_held_run_is_approved_or_discarded(roster: Roster, db: Database, pages) -> None:
    admin: Pages = pages(roster.district_admin())
    full = district(students=6)
    run, _ = preview(admin, db, full)
    assert apply(admin, db, run)[1] == "applied"
    shrunk = district(students=1)
    held_preview, page = preview(admin, db, shrunk)
    assert "approval" in page.text
    held, status = apply(admin, db, held_preview)
    assert status == "needs_approval"
    page = parse(admin.get(f"syncs/{held}").text)
    assert "Held for approval." in page.text
    teacher: Pages = pages(roster.teacher())
    assert teacher.post(f"syncs/{held}/approve").status_code == 403
    assert admin.post(f"syncs/{held}/approve", csrf=None).status_code == 403
    approved = admin.post(f"syncs/{held}/approve")
    assert approved.status_code == 303
    assert wait_for_run(db, held) == "applied"
    assert admin.post(f"syncs/{held}/discard").status_code == 409
    again, _ = preview(admin, db, full)
    apply(admin, db, again)
    other_preview, _ = preview(admin, db, shrunk)
    other, status = apply(admin, db, other_preview)
    assert status == "needs_approval"
    assert admin.post(f"syncs/{other}/discard").status_code == 303
    assert wait_for_run(db, other) == "discarded"


def test_row_errors_name_file_line_and_column(roster: Roster, db: Database, pages) -> None:
    admin: Pages = pages(roster.district_admin())
    snapshot = district(students=2)
    snapshot.users[2]["grades"] = "year nine"
    _, page = preview(admin, db, snapshot)
    row = page.find(id="errors")
    assert row
    issue = page.find("tr", data_issue=True)
    cells = [td.text for td in issue.find_all("td")]
    assert cells[0] == "users.csv" and cells[1] == "4" and cells[2] == "grades"


def test_uploads_that_are_not_snapshots_are_refused_with_a_message(
    roster: Roster, db: Database, pages
) -> None:
    admin: Pages = pages(roster.district_admin())
    answer = upload(admin, b"this is not a zip")
    assert answer.status_code == 422
    assert "not a zip archive" in answer.text
    empty = admin.post("syncs", {})
    assert empty.status_code == 422
    assert "choose a file" in empty.text
    assert upload(admin, district(), csrf=None).status_code == 403


def test_progress_polling_ends_with_a_refresh(roster: Roster, db: Database, pages) -> None:
    admin: Pages = pages(roster.district_admin())
    run, _ = preview(admin, db, district(students=1))
    done = admin.htmx(f"syncs/{run}/progress", "progress")
    assert done.status_code == 204 and done.headers["HX-Refresh"] == "true"


def test_other_organizations_runs_do_not_exist(
    roster: Roster, other_roster: Roster, db: Database, pages
) -> None:
    admin: Pages = pages(roster.district_admin())
    theirs: Pages = pages(other_roster.district_admin())
    run, _ = preview(theirs, db, district(students=1))
    assert admin.get(f"syncs/{run}").status_code == 404
    assert admin.get(f"/orgs/{other_roster.slug}/syncs").status_code == 404
    assert admin.post(f"syncs/{run}/apply").status_code == 404
    assert admin.get("syncs/12345678").status_code == 404


def test_a_run_in_progress_polls_for_its_end(roster: Roster, db: Database, pages) -> None:
    admin: Pages = pages(roster.district_admin())
    with db.writing() as session:
        queued = syncs.start(
            session, actor=roster.actor(), org=roster.org, source="x.zip", dry_run=True
        )
        run = str(queued.id)
    page = parse(admin.get(f"syncs/{run}").text)
    progress = page.find(id="progress")
    assert progress.get("hx-trigger") == "every 1s"
    assert progress.get("hx-get") == f"/orgs/{roster.slug}/syncs/{run}/progress"
    fragment = admin.htmx(f"syncs/{run}/progress", "progress")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "queued" in fragment.text
    with db.writing() as session:
        session.get(SyncRun, int(run)).status = "failed"


def test_unknown_addresses_are_a_page_too(roster: Roster, pages) -> None:
    admin: Pages = pages(roster.district_admin())
    answer = admin.get("no-such-page/at-all")
    assert answer.status_code == 404 and "<html" in answer.text
