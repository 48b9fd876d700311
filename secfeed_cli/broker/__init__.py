"""NATS JetStream as the way out to many consumers: ``secfeed relay`` publishes the feed into a
stream, ``tail --from nats://`` and ``snapshot --from nats://`` read it back.

nats-py is asyncio; secfeed's run loop is not. :class:`LoopThread` runs one event loop in a
thread and the synchronous side calls into it. nats-py is the optional extra ``secfeed[nats]``.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit

import msgspec

T = TypeVar("T")

INSTALL = "pip install 'secfeed[nats]'"


class NatsUnavailable(RuntimeError):
    pass


def load_nats() -> Any:
    try:
        import nats
    except ImportError:
        raise NatsUnavailable(
            f"the NATS options need nats-py, an optional extra: {INSTALL}"
        ) from None
    return nats


class NatsSettings(msgspec.Struct, frozen=True):
    """Where the stream is and what it is called (relay, and tail/snapshot --from)."""

    servers: tuple[str, ...]
    stream: str = "SECFEED"
    prefix: str = "secfeed.filings"
    creds: str | None = None
    tls_ca: str | None = None
    durable: str | None = None  # --from: a durable consumer that resumes
    dedupe_window: float = 3600.0  # relay: the stream's de-duplication window, seconds
    max_age: float = 7 * 86400.0  # relay: how long the stream keeps a filing, seconds
    max_unacked: int = 4096  # relay: filings published but not acknowledged, at most
    connect_timeout: float = 10.0  # the first connection (later ones are retried forever)

    @property
    def shown(self) -> str:
        """The servers for messages: without user:password."""
        return ",".join(mask(url) for url in self.servers)


def mask(url: str) -> str:
    parts = urlsplit(url)
    if parts.password or parts.username:
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://***@{host}{port}"
    return url


def subject_token(form: str) -> str:
    """A form as one NATS subject token: spaces, dots, ``*`` and ``>`` become ``_``
    (``SCHEDULE 13G/A`` -> ``SCHEDULE_13G/A``); an empty form is ``_``."""
    token = "".join("_" if ch in " .*>\t\r\n" else ch for ch in form)
    return token or "_"


async def connect(settings: NatsSettings) -> Any:
    """A NATS connection that reconnects by itself, forever, to any of the servers."""
    nats = load_nats()
    options: dict[str, Any] = {
        "servers": list(settings.servers),
        "allow_reconnect": True,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
        "connect_timeout": 5,
        "name": "secfeed",
    }
    if settings.creds:
        options["user_credentials"] = settings.creds
    if settings.tls_ca:
        context = ssl.create_default_context(cafile=settings.tls_ca)
        options["tls"] = context

    async def quiet(*_: Any) -> None:  # nats-py prints these otherwise; secfeed reports its own
        return None

    options["error_cb"] = quiet
    try:
        return await asyncio.wait_for(nats.connect(**options), settings.connect_timeout)
    except asyncio.TimeoutError:
        raise TimeoutError(
            f"no answer within {settings.connect_timeout:g} s (--connect-timeout)"
        ) from None


class LoopThread:
    """An asyncio event loop in a daemon thread; :meth:`call` runs a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="nats", daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(2.0)
