"""Running the emulator: in the foreground until a signal (``secfeed serve``), or on its own
event loop in a background thread (``secfeed demo`` and the tests)."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Callable

from .server import Emulator, EmulatorConfig, Event


async def serve_forever(
    config: EmulatorConfig, on_ready: Callable[[Emulator], None], quiet: bool = False
) -> int:
    """Run until SIGINT or SIGTERM; ``on_ready`` gets the emulator once it listens.

    Returns the signal number that stopped it. The signals are taken through the event loop:
    a Python-level handler could fire inside a connection's task and be swallowed there.
    """
    emulator = Emulator(config, log=None if quiet else _stderr_log)
    await emulator.start()
    loop = asyncio.get_running_loop()
    stopped: asyncio.Future[int] = loop.create_future()

    def stop(signum: int) -> None:
        if not stopped.done():
            stopped.set_result(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)
    on_ready(emulator)
    try:
        return await stopped
    finally:
        await emulator.close()


def _stderr_log(event: Event) -> None:
    if event.name in ("connect", "disconnect", "auth-rejected", "overflow", "bad-message"):
        detail = f" {event.detail}" if event.detail else ""
        print(f"secfeed serve: #{event.conn} {event.name}{detail}", file=sys.stderr, flush=True)


class EmulatorThread:
    """The emulator on its own event loop in a background thread (for ``demo`` and tests)."""

    def __init__(self, config: EmulatorConfig, log: Callable[[Event], None] | None = None):
        self.config = config
        self._log = log
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.emulator: Emulator | None = None
        self._thread = threading.Thread(target=self._main, name="secfeed-emulator", daemon=True)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Emulator:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        assert self.emulator is not None
        return self.emulator

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.emulator = Emulator(self.config, log=self._log)
        await self.emulator.start()
        self._ready.set()
        await self._stop.wait()
        await self.emulator.close()
