"""The `rollbook` command line on a real database, then its work seen through the API."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rollbook.cli import app
from tests.integration.syncing import rollbook_command

runner = CliRunner()


@pytest.fixture
def cli(backend: str, db: object, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ROLLBOOK_DATABASE_URL", backend)
    return runner


def run(cli: CliRunner, *args: str, stdin: str | None = None, code: int = 0) -> str:
    result = cli.invoke(app, list(args), input=stdin)
    assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
    return result.output


def sign_in(client: TestClient, org: str, username: str, password: str) -> str:
    response = client.post(
        "/api/v1/auth/token", data={"org": org, "username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_org_school_educator_and_sign_in(cli: CliRunner, client: TestClient) -> None:
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    assert "created organization" in run(cli, "org", "create", slug, "--name", "Springfield")
    run(cli, "school", "create", slug, "--name", "Lincoln", "--external-id", "sch-1")
    output = run(
        cli,
        "educator", "create", slug, "--username", "Ada", "--first-name", "Ada",
        "--last-name", "Lovelace", "--role", "teacher", "--school", "sch-1", "--password-stdin",
        stdin="correct horse battery\nsecond line is ignored\n",
    )  # fmt: skip
    assert "with a password" in output
    token = sign_in(client, slug, "ada", "correct horse battery")
    me = client.get(
        f"/api/v1/orgs/{slug}/educators", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert [(e["username"], e["role"], e["origin"]) for e in me["items"]] == [
        ("Ada", "teacher", "manual")
    ]


def test_r20_threshold_is_set_by_org_set(cli: CliRunner, client: TestClient) -> None:
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    run(cli, "org", "create", slug, "--name", "Shelbyville")
    assert "threshold 25%" in run(cli, "org", "set", slug, "--threshold", "25")
    run(cli, "org", "set", slug, "--threshold", "250", code=1)


def test_apikey_is_printed_once_and_works(cli: CliRunner, client: TestClient) -> None:
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    run(cli, "org", "create", slug, "--name", "Ogdenville")
    key = run(cli, "apikey", "create", slug).strip().splitlines()[-1]
    assert key.startswith("rbk_")
    response = client.get(
        f"/api/v1/orgs/{slug}/students", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200


def test_operator_key_creates_organizations(cli: CliRunner, client: TestClient) -> None:
    key = run(cli, "apikey", "create", "--operator").strip().splitlines()[-1]
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    response = client.post(
        "/api/v1/orgs",
        json={"slug": slug, "name": "North Haverbrook"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201, response.text


def test_bad_input_is_a_message_not_a_traceback(cli: CliRunner) -> None:
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    run(cli, "org", "create", slug, "--name", "Capital City")
    result = cli.invoke(app, ["org", "create", slug, "--name", "Again"])
    assert result.exit_code == 1
    assert "exists already" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    result = cli.invoke(app, ["school", "create", "no-such-org", "--name", "X"])
    assert result.exit_code == 1 and "no organization 'no-such-org'" in result.stderr
    result = cli.invoke(
        app,
        ["educator", "create", slug, "--username", "x", "--first-name", " ", "--last-name", "y",
         "--role", "janitor"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "first_name" in result.stderr and "role" in result.stderr


def test_short_password_is_refused_and_nothing_is_created(
    cli: CliRunner, client: TestClient
) -> None:
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    run(cli, "org", "create", slug, "--name", "Brockway")
    run(cli, "school", "create", slug, "--name", "Lincoln", "--external-id", "s1")
    args = [
        *("educator", "create", slug, "--username", "bo", "--first-name", "Bo"),
        *("--last-name", "B", "--role", "teacher", "--school", "s1", "--password-stdin"),
    ]
    result = cli.invoke(app, args, input="short\n")
    assert result.exit_code == 1 and "password" in result.stderr
    run(cli, *args, stdin="long enough now\n")


def test_demo_creates_accounts_that_sign_in(cli: CliRunner, client: TestClient) -> None:
    output = run(cli, "demo", "--no-serve")
    assert "ada.admin" in output and "tess.teacher" in output
    run(cli, "demo", "--no-serve")
    token = sign_in(client, "demo", "tess.teacher", "rollbook-teacher")
    students = client.get(
        "/api/v1/orgs/demo/students?q=baker", headers={"Authorization": f"Bearer {token}"}
    )
    assert students.status_code == 200
    # R7: the demo's first sync adopted the hand-made Timothy as the SIS's Tim, keeping the
    # note only a person had written.
    (tim,) = students.json()["items"]
    assert (tim["first_name"], tim["origin"]) == ("Tim", "sis")
    assert tim["notes"] == "Joined mid-year; SIS record pending."


def test_a_wrong_setting_is_named_before_any_command_starts(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ROLLBOOK_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}",
        "ROLLBOOK_WORKERS": "0",
        "ROLLBOOK_POOL_SIZE": "many",
    }
    done = subprocess.run(
        [*rollbook_command(), "serve"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "ROLLBOOK_WORKERS: Input should be greater than or equal to 1" in done.stderr
    assert "ROLLBOOK_POOL_SIZE: Input should be a valid integer" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "never.db").exists()
