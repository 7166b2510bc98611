"""`rollbook serve --workers 2`: two real server processes on one port and one database. They
answer the API and the pages, share the sign-in limit (counted in the database), and run the
syncs uploaded to them, each in a child of its own; runs of one organization never overlap
(R18's lock is in the database)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from bench import load
from rollbook.generate import District, write_district
from rollbook.store.db import Database
from tests.factories import Roster
from tests.integration.syncing import wait_for

pytestmark = pytest.mark.slow
PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def served(
    backend: str, db: Database, client: TestClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[load.Server]:
    """One pair of server processes for the module's tests (each test has an organization
    of its own), started once per backend."""
    server = load.Server(backend, tmp_path_factory.mktemp("served"), workers=2)
    try:
        first = Roster.new(db, client)
        server.wait_ready(first.slug, first.district_admin().api.token or "")
        yield server
    finally:
        server.stop()


def test_two_processes_answer_on_one_port(served: load.Server, roster: Roster) -> None:
    assert len(served.request_processes()) == 2
    admin = roster.district_admin()
    school = roster.school()
    headers = {"Authorization": f"Bearer {admin.api.token}"}
    with httpx.Client(base_url=served.base, headers=headers, timeout=30) as http:
        student = http.post(
            f"/api/v1/orgs/{roster.slug}/students",
            json={
                "username": "two.processes",
                "first_name": "Two",
                "last_name": "Processes",
                "school_ids": [school],
            },
        )
        assert student.status_code == 201, student.text
        # Fresh connections land on either process; every one sees the new student.
        for _ in range(8):
            with httpx.Client(base_url=served.base, headers=headers, timeout=30) as fresh:
                found = fresh.get(f"/api/v1/orgs/{roster.slug}/students/{student.json()['id']}")
                assert found.status_code == 200, found.text


def test_the_sign_in_limit_holds_across_the_processes(served: load.Server, roster: Roster) -> None:
    """Ten attempts a minute (the default) whichever process takes each connection."""
    account = roster.teacher(password=PASSWORD)
    form = {"org": roster.slug, "username": account.username, "password": "wrong password"}
    codes = []
    for _ in range(10):
        with httpx.Client(base_url=served.base, timeout=30) as fresh:
            codes.append(fresh.post("/api/v1/auth/token", data=form).status_code)
    assert codes == [401] * 10
    for _ in range(4):
        with httpx.Client(base_url=served.base, timeout=30) as fresh:
            right = fresh.post("/api/v1/auth/token", data={**form, "password": PASSWORD})
            assert right.status_code == 429, right.text


def test_r18_uploads_to_either_process_apply_one_after_the_other(
    served: load.Server, roster: Roster, tmp_path: Path
) -> None:
    folder = tmp_path / "district"
    write_district(folder, District(students=200))
    archive = load.zipped(folder, tmp_path / "district.zip")
    admin = roster.district_admin()
    headers = {"Authorization": f"Bearer {admin.api.token}"}
    runs = []
    for _ in range(2):
        with httpx.Client(base_url=served.base, headers=headers, timeout=60) as fresh:
            with archive.open("rb") as file:
                answer = fresh.post(
                    f"/api/v1/orgs/{roster.slug}/syncs",
                    files={"file": ("district.zip", file, "application/zip")},
                )
            assert answer.status_code == 202, answer.text
            runs.append(answer.json()["id"])
    phases = set()
    while True:
        now = [admin.api.ok("GET", f"syncs/{run_id}") for run_id in runs]
        phases |= {run["phase"] for run in now if run["status"] == "queued" and run["phase"]}
        if all(run["status"] not in ("queued", "running") for run in now):
            break
        time.sleep(0.02)
    ended = [wait_for(admin.api, run_id, timeout=120) for run_id in runs]
    # A run that found the other holding the lock said so while it waited.
    assert phases <= {f"waiting for run {run_id} to finish" for run_id in runs}, phases
    # Whichever process took each upload, the second waited for the first's lock (R18: never
    # both at once) and then found the roster as the snapshot says.
    assert [run["status"] for run in ended] == ["applied", "applied"], ended
    created = sorted(run["counts"]["students"]["created"] for run in ended)
    assert created == [0, 200], ended
    first, second = sorted(ended, key=lambda run: run["started_at"])
    assert first["finished_at"] <= second["started_at"], ended
