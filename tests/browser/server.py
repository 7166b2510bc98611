"""The application served by uvicorn on 127.0.0.1, on a free port, in a background thread."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from rollbook.app import create_app
from rollbook.config import Settings
from rollbook.store.db import Database

CHROMIUM = Path(os.environ.get("ROLLBOOK_CHROMIUM", "/usr/bin/chromium"))
# Debian's Chromium, as root, on a machine without a network beyond loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def live_server(folder: Path) -> Iterator[tuple[str, Database]]:
    """A fresh SQLite database in `folder`, and the address of the app serving it."""
    url = f"sqlite:///{folder / 'rollbook.db'}"
    db = Database.connect(url)
    db.migrate()
    config = Settings(database_url=url, upload_dir=str(folder / "uploads"))
    server = uvicorn.Server(
        uvicorn.Config(create_app(config, db=db), log_level="warning", lifespan="on")
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", db
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
        db.dispose()
