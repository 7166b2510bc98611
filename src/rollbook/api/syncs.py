"""Sync runs: upload a OneRoster zip, read runs and their changes, decide held runs."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from rollbook.api import schemas
from rollbook.api.deps import ReadCtx, TurnRoute, WriteCtx, guard
from rollbook.domain.errors import RejectionReason, SyncRejected
from rollbook.domain.permissions import require
from rollbook.domain.values import is_digits
from rollbook.services import syncs
from rollbook.store.paging import MAX_LIMIT
from rollbook.sync.worker import SyncWorker

router = APIRouter(
    route_class=TurnRoute, prefix="/orgs/{org}/syncs", tags=["syncs"], responses=schemas.ERRORS
)
Limit = Annotated[int | None, Query(ge=1, le=MAX_LIMIT)]
CHUNK = 1024 * 1024


def _size(limit: int) -> str:
    """An upload limit as people read it (a limit under 1 MB is not "0 MB")."""
    return f"{limit // CHUNK:,} MB" if limit >= CHUNK else f"{limit:,} bytes"


def _save_upload(upload: UploadFile, target: Path, limit: int) -> None:
    """Copy the upload to disk, refusing it past `limit` bytes and if it is not a zip."""
    size = 0
    with target.open("wb") as out:
        while chunk := upload.file.read(CHUNK):
            size += len(chunk)
            if size > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise SyncRejected(
                    "the upload is too large",
                    [RejectionReason(f"uploads are limited to {_size(limit)}", upload.filename)],
                )
            out.write(chunk)
    if size == 0 or not zipfile.is_zipfile(target):
        target.unlink(missing_ok=True)
        why = "the file is empty" if size == 0 else "the file is not a zip archive"
        raise SyncRejected(
            "the upload is not a readable OneRoster archive",
            [
                RejectionReason(
                    f"{why}: upload the OneRoster CSV files as one .zip", upload.filename
                )
            ],
        )


@router.post(
    "",
    status_code=202,
    response_model=dict[str, Any],
    operation_id="start_sync",
    # R3: the role is checked before the upload is read (decisions: order of refusals).
    dependencies=[guard("syncs.run")],
)
def start_sync(
    request: Request,
    ctx: WriteCtx,
    file: Annotated[UploadFile, File(description="A OneRoster zip (CSV files and manifest.csv)")],
    dry_run: bool = False,
) -> JSONResponse:
    """Upload a snapshot; the run is queued and executed in the background (poll it)."""
    require(ctx.actor, "syncs.run")
    config = request.app.state.settings
    declared = request.headers.get("content-length")
    if declared and is_digits(declared) and int(declared) > config.max_upload_bytes + CHUNK:
        raise SyncRejected(
            "the upload is too large",
            [RejectionReason(f"uploads are limited to {_size(config.max_upload_bytes)}")],
        )
    worker: SyncWorker = request.app.state.sync_worker
    handle, name = tempfile.mkstemp(suffix=".zip", dir=worker.upload_dir)
    path = Path(name)
    with open(handle, "wb"):
        pass
    try:
        _save_upload(file, path, config.max_upload_bytes)
        run = syncs.start(
            ctx.session,
            actor=ctx.actor,
            org=ctx.org,
            source=file.filename or "upload.zip",
            dry_run=dry_run,
        )
        ctx.session.commit()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    worker.submit(run.id, path)
    return JSONResponse(syncs.run_view(ctx.session, run), status_code=202)


@router.get("", response_model=dict[str, Any], operation_id="list_syncs")
def list_syncs(ctx: ReadCtx, limit: Limit = None, cursor: str | None = None) -> dict[str, Any]:
    found = syncs.list_runs(ctx.session, actor=ctx.actor, org=ctx.org, limit=limit, cursor=cursor)
    return {
        "items": [syncs.run_view(ctx.session, r) for r in found.items],
        "next_cursor": found.next_cursor,
    }


@router.get("/{run_id}", response_model=dict[str, Any], operation_id="get_sync")
def get_sync(ctx: ReadCtx, run_id: str) -> dict[str, Any]:
    return syncs.run_view(
        ctx.session, syncs.load(ctx.session, actor=ctx.actor, org=ctx.org, run_id=run_id)
    )


@router.get("/{run_id}/changes", response_model=dict[str, Any], operation_id="sync_changes")
def sync_changes(
    ctx: ReadCtx,
    run_id: str,
    limit: Limit = None,
    cursor: str | None = None,
    overwritten: bool = False,
    entity_kind: str | None = None,
) -> dict[str, Any]:
    found = syncs.changes(
        ctx.session,
        actor=ctx.actor,
        org=ctx.org,
        run_id=run_id,
        limit=limit,
        cursor=cursor,
        overwritten_only=overwritten,
        entity_kind=entity_kind,
    )
    return {"items": found.items, "next_cursor": found.next_cursor}


def _decide(request: Request, ctx: WriteCtx, run_id: str, *, approve: bool) -> dict[str, Any]:
    worker: SyncWorker = request.app.state.sync_worker
    run = syncs.decide(
        worker.engine,
        session=ctx.session,
        actor=ctx.actor,
        org=ctx.org,
        run_id=run_id,
        approve=approve,
    )
    return syncs.run_view(ctx.session, run)


@router.post(
    "/{run_id}/approve",
    response_model=dict[str, Any],
    operation_id="approve_sync",
    dependencies=[guard("syncs.decide")],
)
def approve_sync(request: Request, ctx: WriteCtx, run_id: str) -> dict[str, Any]:
    """R20: apply a held run against the roster as it is now."""
    return _decide(request, ctx, run_id, approve=True)


@router.post(
    "/{run_id}/discard",
    response_model=dict[str, Any],
    operation_id="discard_sync",
    dependencies=[guard("syncs.decide")],
)
def discard_sync(request: Request, ctx: WriteCtx, run_id: str) -> dict[str, Any]:
    """R20: drop a held run; nothing of it is applied."""
    return _decide(request, ctx, run_id, approve=False)
