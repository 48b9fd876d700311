"""Plain HTTP on the emulator's port, beside the WebSocket: EDGAR's documents and index files
at their paths (``--edgar``, ``--edgar-indexes``), its faults, and refusals of upgrades.

A request that is none of these goes on to the WebSocket upgrade (``None``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from .feed import Record

if TYPE_CHECKING:
    from .server import EmulatorConfig

#: What the feed has announced: (record, discovered time), for EDGAR's latest-filings page.
Announced = Callable[[], Iterable[tuple[Record, str]]]


class PlainHttp:
    """``record(name, conn, detail)`` logs each request as the emulator's events do."""

    def __init__(
        self,
        config: EmulatorConfig,
        announced: Announced,
        record: Callable[[str, int, str], None],
    ) -> None:
        self.config = config
        self.announced = announced
        self.record = record
        self.documents: dict[str, bytes] = {}
        self.asked: set[str] = set()
        #: The User-Agents EDGAR's requests came with (for tests).
        self.agents: set[str] = set()
        self.upgrades = 0
        self.closing = asyncio.Event()  # set: a slow answer ends now

    @property
    def edgar_on(self) -> bool:
        return self.config.edgar or self.config.edgar_indexes is not None

    @property
    def needed(self) -> bool:
        """Whether requests need looking at before the upgrade at all."""
        return self.config.refuse_after is not None or self.edgar_on

    def load_indexes(self) -> None:
        if self.config.edgar_indexes is not None:
            from .edgar import index_documents

            self.documents.update(index_documents(Path(self.config.edgar_indexes)))

    async def answer(self, ws: ServerConnection, request: Request) -> Response | None:
        """EDGAR's documents and index files, else refusals, else on to the upgrade."""
        if self.edgar_on and request.path.startswith(("/Archives/", "/cgi-bin/")):
            from .edgar import index_key

            key = index_key(request.path) or request.path.split("?")[0]
            return await self._edgar(ws, request, key)
        if self.config.refuse_after is None:
            return None
        return self._refuse(ws)

    async def _edgar(self, ws: ServerConnection, request: Request, path: str) -> Response:
        """A document or index file (its User-Agent kept in ``agents``)."""
        from .edgar import malformed, rate_page

        fault = self.config.edgar_fault
        self.agents.add(request.headers.get("User-Agent", ""))
        self.record("edgar", 0, request.path)
        body = self.documents.get(path)
        if body is None and path.startswith("getcurrent:") and self.config.edgar_indexes is None:
            from .edgar import latest_filings_page

            body = latest_filings_page(list(self.announced()), int(path.partition(":")[2]))
        first = path not in self.asked
        self.asked.add(path)
        if fault == "403":
            return document(ws, 403, rate_page(), "text/html")
        if fault == "429":
            return ws.respond(429, "Too Many Requests\n")
        if body is None or (fault == "404-first" and first):
            return ws.respond(404, "Not Found\n")
        if fault == "slow":  # 30 s, or until the emulator closes: never a pending task left
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.closing.wait(), 30)
        if fault == "malformed":
            body = malformed(body)
        kind = (
            "text/plain"
            if path.endswith((".txt", ".idx"))
            else "application/atom+xml"
            if path.startswith("getcurrent:")
            else "text/html"
        )
        response = document(ws, 200, body, kind)
        if fault == "truncated":  # the length of the whole, half of it sent
            response.body = body[: len(body) // 2]
        return response

    def _refuse(self, ws: ServerConnection) -> Response | None:
        self.upgrades += 1
        limit = self.config.refuse_after
        if limit is not None and self.upgrades > limit:
            self.record("refused", 0, "")
            return ws.respond(503, "Service Unavailable\n")
        return None


def document(ws: ServerConnection, status: int, body: bytes, kind: str) -> Response:
    """A response with ``body`` as it is, of type ``kind``."""
    response = ws.respond(status, "")
    for name in ("Content-Type", "Content-Length"):
        del response.headers[name]
    response.headers["Content-Type"] = kind
    response.headers["Content-Length"] = str(len(body))
    response.body = body
    return response
