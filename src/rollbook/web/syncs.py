"""Sync runs: upload a snapshot for a preview (dry run), read the report, apply the previewed
snapshot, approve or discard a held run (R20, R21). A running run shows its progress by
polling (htmx) until it ends.

A preview keeps its upload (in the worker's upload folder, under `previews/`) so that
"Apply" runs the very snapshot that was previewed; applying it removes the kept copy.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from itertools import groupby
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Response
from starlette.datastructures import UploadFile

from rollbook.api.errors import status_of
from rollbook.domain.errors import RejectionReason, RollbookError, SyncRejected
from rollbook.domain.permissions import require
from rollbook.services import syncs
from rollbook.store.sync_tables import SyncRun
from rollbook.sync.engine import FINAL
from rollbook.sync.worker import SyncWorker
from rollbook.web.pages import PageRoute, is_fragment, may, render, see_other
from rollbook.web.session import Form, FormCtx, PageCtx, WebCtx

router = APIRouter(route_class=PageRoute, include_in_schema=False)
BASE = "/orgs/{org}/syncs"
CHANGES_PER_PAGE = 200
CHUNK = 1024 * 1024
MB = 1024 * 1024
ENTITY_KINDS = [("", "Everything"), ("student", "Students"), ("educator", "Educators"),
                ("class", "Classes"), ("school", "Schools")]  # fmt: skip


def _worker(ctx: WebCtx) -> SyncWorker:
    worker: SyncWorker = ctx.request.app.state.sync_worker
    return worker


def kept_upload(ctx: WebCtx, run_id: int) -> Path:
    """Where the snapshot of a preview waits for "Apply"."""
    return _worker(ctx).upload_dir / "previews" / f"{ctx.org.id}-{run_id}.zip"


def summary(counts: dict[str, Any] | None) -> str:
    """A run's changes in a few words: "3 created · 6 deactivated"."""
    totals: dict[str, int] = {}
    for kind in ("students", "educators", "classes"):
        for action, number in (counts or {}).get(kind, {}).items():
            if action != "unchanged" and number:
                totals[action] = totals.get(action, 0) + int(number)
    return " · ".join(f"{n} {action}" for action, n in totals.items()) or "no changes"


def _runs_page(ctx: WebCtx, *, status: int = 200, messages: list[str] | None = None) -> Response:
    require(ctx.actor, "syncs.read")
    cursor = ctx.request.query_params.get("cursor") or None
    found = syncs.list_runs(ctx.session, actor=ctx.actor, org=ctx.org, limit=25, cursor=cursor)
    base = ctx.url("/syncs")
    return render(
        ctx.request,
        "syncs.html",
        ctx,
        status=status,
        section="syncs",
        runs=[(run, summary(run.counts)) for run in found.items],
        next_url=f"{base}?cursor={found.next_cursor}" if found.next_cursor else None,
        first_url=base if cursor else None,
        messages=messages or [],
        limit_mb=ctx.request.app.state.settings.max_upload_bytes // MB,
    )


@router.get(BASE)
def runs(ctx: PageCtx) -> Response:
    return _runs_page(ctx)


def _save(upload: UploadFile, target: Path, limit: int) -> None:
    """Copy the upload to disk; refuse it past `limit` bytes, empty, or not a zip (R22)."""
    size = 0
    with target.open("wb") as out:
        while chunk := upload.file.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise SyncRejected(
                    "the upload is too large",
                    [RejectionReason(f"uploads are limited to {limit // MB} MB", upload.filename)],
                )
            out.write(chunk)
    if size == 0 or not zipfile.is_zipfile(target):
        why = "the file is empty" if size == 0 else "the file is not a zip archive"
        raise SyncRejected(
            "the upload is not a readable OneRoster archive",
            [RejectionReason(f"{why}: upload the OneRoster CSV files as one .zip")],
        )


def _refusal(error: RollbookError) -> list[str]:
    return [error.message] + [str(d.get("message")) for d in error.details if d.get("message")]


@router.post(BASE)
def upload(ctx: FormCtx, form: Form) -> Response:
    """Upload a OneRoster zip: it is previewed first (a dry run), never applied at once."""
    require(ctx.actor, "syncs.run")
    file = form.get("file")
    limit = ctx.request.app.state.settings.max_upload_bytes
    worker = _worker(ctx)
    worker.upload_dir.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(suffix=".zip", dir=worker.upload_dir)
    path = Path(name)
    with open(handle, "wb"):
        pass
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise SyncRejected(
                "choose a file to upload", [RejectionReason("a OneRoster .zip is needed")]
            )
        _save(file, path, limit)
        run = syncs.start(
            ctx.session, actor=ctx.actor, org=ctx.org, source=file.filename, dry_run=True
        )
        ctx.session.commit()
        kept = kept_upload(ctx, run.id)
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, kept)
    except SyncRejected as error:
        path.unlink(missing_ok=True)
        ctx.session.rollback()
        return _runs_page(ctx, status=status_of(error), messages=_refusal(error))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    worker.submit(run.id, path)
    return see_other(ctx.url(f"/syncs/{run.id}"))


def _groups(ctx: WebCtx, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive changes of one entity, under the entity's name."""
    names = syncs.entity_names(ctx.session, org=ctx.org, items=items)
    plural = {"student": "students", "educator": "educators", "class": "classes"}
    groups = []
    for (kind, entity_id, ref), changes in groupby(
        items, key=lambda c: (c["entity_kind"], c["entity_id"], c["sourced_id"])
    ):
        found = list(changes)
        name = names.get((kind, entity_id or ""))
        if name is None:
            created = next((c["new"] for c in found if isinstance(c["new"], dict)), {})
            parts = [created.get("first_name"), created.get("last_name")]
            name = " ".join(p for p in parts if p) or created.get("name") or ref or "?"
        url = None
        if entity_id and kind in plural:
            url = ctx.url(f"/{plural[kind]}/{entity_id}")
        groups.append({"kind": kind, "name": name, "ref": ref, "url": url, "changes": found})
    return groups


def _report(
    ctx: WebCtx, run: SyncRun, *, messages: list[str] | None = None, status: int = 200
) -> Response:
    params = ctx.request.query_params
    view = syncs.run_view(ctx.session, run)
    final = run.status in FINAL or run.status == "needs_approval"
    kind = params.get("kind", "")
    overwritten_only = params.get("overwritten") == "1"
    cursor = params.get("cursor") or None
    groups: list[dict[str, Any]] = []
    overwritten: list[dict[str, Any]] = []
    next_url = None
    if final:
        page = syncs.changes(
            ctx.session,
            actor=ctx.actor,
            org=ctx.org,
            run_id=str(run.id),
            limit=CHANGES_PER_PAGE,
            cursor=cursor,
            overwritten_only=overwritten_only,
            entity_kind=kind or None,
        )
        groups = _groups(ctx, page.items)
        if page.next_cursor:
            next_url = ctx.url(f"/syncs/{run.id}") + "?" + "&".join(
                f"{k}={v}"
                for k, v in (("kind", kind), ("overwritten", "1" if overwritten_only else ""),
                             ("cursor", page.next_cursor))
                if v
            )  # fmt: skip
        over = syncs.changes(
            ctx.session, actor=ctx.actor, org=ctx.org, run_id=str(run.id), limit=100,
            overwritten_only=True,
        )  # fmt: skip
        overwritten = _groups(ctx, over.items)
    can_apply = run.status == "previewed" and run.dry_run and kept_upload(ctx, run.id).exists()
    return render(
        ctx.request,
        "sync_run.html",
        ctx,
        status=status,
        section="syncs",
        run=view,
        final=final,
        groups=groups,
        overwritten=overwritten,
        kinds=ENTITY_KINDS,
        kind=kind,
        overwritten_only=overwritten_only,
        next_url=next_url,
        first_url=ctx.url(f"/syncs/{run.id}") if cursor else None,
        can_apply=can_apply and may(ctx, "syncs.run"),
        can_decide=run.status == "needs_approval" and may(ctx, "syncs.decide"),
        messages=messages or [],
    )


@router.get(f"{BASE}/{{run_id}}")
def run_report(ctx: PageCtx, run_id: str) -> Response:
    run = syncs.load(ctx.session, actor=ctx.actor, org=ctx.org, run_id=run_id)
    return _report(ctx, run)


@router.get(f"{BASE}/{{run_id}}/progress")
def run_progress(ctx: PageCtx, run_id: str) -> Response:
    """Polled by a running run's page; once the run ends, the page reloads with its report."""
    run = syncs.load(ctx.session, actor=ctx.actor, org=ctx.org, run_id=run_id)
    if run.status in FINAL or run.status == "needs_approval":
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    if not is_fragment(ctx.request, "progress"):
        return see_other(ctx.url(f"/syncs/{run.id}"))
    return render(ctx.request, "_sync_progress.html", ctx, run=syncs.run_view(ctx.session, run))


@router.post(f"{BASE}/{{run_id}}/apply")
def apply_preview(ctx: FormCtx, run_id: str) -> Response:
    """Run the previewed snapshot for real (it may still be held by R20)."""
    require(ctx.actor, "syncs.run")
    preview = syncs.load(ctx.session, actor=ctx.actor, org=ctx.org, run_id=run_id)
    kept = kept_upload(ctx, preview.id)
    if preview.status != "previewed" or not preview.dry_run or not kept.exists():
        message = "This preview can no longer be applied: upload the snapshot again."
        return _report(ctx, preview, messages=[message], status=409)
    worker = _worker(ctx)
    handle, name = tempfile.mkstemp(suffix=".zip", dir=worker.upload_dir)
    path = Path(name)
    with open(handle, "wb"):
        pass
    try:
        shutil.copyfile(kept, path)
        run = syncs.start(
            ctx.session, actor=ctx.actor, org=ctx.org, source=preview.source, dry_run=False
        )
        ctx.session.commit()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    kept.unlink(missing_ok=True)
    worker.submit(run.id, path)
    return see_other(ctx.url(f"/syncs/{run.id}"))


def _decide_routes(verb: str, approve: bool) -> None:
    @router.post(f"{BASE}/{{run_id}}/{verb}")
    def decide(ctx: FormCtx, run_id: str) -> Response:
        try:
            syncs.decide(
                _worker(ctx).engine,
                session=ctx.session,
                actor=ctx.actor,
                org=ctx.org,
                run_id=run_id,
                approve=approve,
            )
        except RollbookError as error:
            if status_of(error) in (403, 404):
                raise
            ctx.session.rollback()
            run = syncs.load(ctx.session, actor=ctx.actor, org=ctx.org, run_id=run_id)
            return _report(ctx, run, messages=[error.message], status=status_of(error))
        return see_other(ctx.url(f"/syncs/{run_id}"))


_decide_routes("approve", approve=True)
_decide_routes("discard", approve=False)
