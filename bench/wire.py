"""A lean HTTP/1.1 client for the load generator: one keep-alive connection, one request at a
time, the answer read whole.

bench/load.py's clients share the machine's two cores with the server. httpx spent about
3.4 ms of processor time per request (`processor:` line of bench.load: 10.7 s for 3,154
requests), so at the thousand requests a second of quality.md the clients alone would need
more than three cores. This client writes the request's bytes itself and reads the answer
by its Content-Length (or its chunks), which is all the load needs: the figures stay the
time from sending a request to having its whole answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit


class WireError(Exception):
    """The connection failed, closed early, or the answer could not be read."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One client's connection to `base` (http://host:port), reopened after a failure."""

    def __init__(self, base: str, headers: Mapping[str, str], timeout: float = 120.0) -> None:
        parts = urlsplit(base)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"expected http://host:port, got {base!r}")
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        fixed = {"Host": f"{self.host}:{self.port}", **headers}
        self._head = "".join(f"{name}: {value}\r\n" for name, value in fixed.items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def encode(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> bytes:
        """The bytes of one request; `url` is an absolute address or a path."""
        parts = urlsplit(url)
        target = parts.path or "/"
        query = "&".join(q for q in (parts.query, urlencode(params or {})) if q)
        if query:
            target += f"?{query}"
        body = b"" if json_body is None else json.dumps(json_body).encode()
        head = f"{method} {target} HTTP/1.1\r\n{self._head}"
        if json_body is not None:
            head += "Content-Type: application/json\r\n"
        if body or method in {"POST", "PUT", "PATCH"}:
            head += f"Content-Length: {len(body)}\r\n"
        return f"{head}\r\n".encode("latin-1") + body

    async def request(self, raw: bytes) -> Answer:
        """Send one encoded request and read its whole answer; WireError on any failure (the
        connection is then closed, and the next request opens a new one)."""
        try:
            async with asyncio.timeout(self.timeout):
                if self._writer is None:
                    self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
                assert self._reader is not None
                self._writer.write(raw)
                answer, keep = await _read_answer(self._reader)
        except (OSError, EOFError, TimeoutError, ValueError, asyncio.IncompleteReadError) as e:
            await self.close()
            raise WireError(repr(e)) from e
        if not keep:
            await self.close()
        return answer

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _read_answer(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/1."):
        raise ValueError(f"not an HTTP/1.x answer: {lines[0]!r}")
    status = int(rest[:3])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunks(reader)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif status in (204, 304) or 100 <= status < 200:
        body = b""
    else:  # no length: the body runs to the end of the connection
        return Answer(status, await reader.read()), False
    keep = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
    return Answer(status, body), keep


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
