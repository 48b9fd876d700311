"""NATS JetStream as the way out to many consumers: ``secfeed relay`` publishes the feed into a
stream, ``tail --from nats://`` and ``snapshot --from nats://`` read it back.

nats-py is asyncio; secfeed's run loop is not. :class:`LoopThread` runs one event loop in a
thread and the synchronous side calls into it. nats-py is the optional extra ``secfeed-cli[nats]``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ssl
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit

import msgspec

from ..extras import install_hint

T = TypeVar("T")

INSTALL = install_hint("nats")


class NatsUnavailable(RuntimeError):
    pass


def load_nats() -> Any:
    import sys

    # nats-py imports aiohttp at once, for its WebSocket transport (ws:// servers), and does
    # without it when it is missing. secfeed takes nats:// and tls:// only: aiohttp was half
    # of the import (0.1 of 0.2 s here, and seconds on a loaded machine), before the first
    # filing of `tail --from nats://`. It is kept out while nats-py loads, and only then.
    blocked = "aiohttp" not in sys.modules and "nats" not in sys.modules
    if blocked:
        sys.modules["aiohttp"] = None  # type: ignore[assignment]
    try:
        import nats
        import nats.js  # noqa: F401 - loaded here, while aiohttp is kept out
    except ImportError:
        raise NatsUnavailable(
            f"the NATS options need nats-py, an optional extra: {INSTALL}"
        ) from None
    finally:
        if blocked:
            del sys.modules["aiohttp"]
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
    replicas: int | None = None  # relay: a new stream's replicas (None: the cluster's, up to 3)
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


def _client_class() -> Any:
    """nats-py's client, held to two rules it does not keep by itself.

    ``tls://`` means TLS: nats-py starts TLS only when the server's INFO says ``tls_required``,
    so a server (or anything in the path) that leaves it out received the credentials in clear.
    Here a ``tls://`` server is always treated as requiring it: no TLS, no connection.

    Only the servers the user named: a server's INFO may list others (``connect_urls``), which
    nats-py would add to its pool and later send the credentials to; they are ignored.
    """
    from nats.aio.client import Client

    class Client_(Client):
        #: The servers of the cluster the connected one is in, as its INFO counts them
        #: (itself too; 1 when it is in none).
        cluster_size = 1
        #: The server being connected to (nats-py names it only once connected): a refusal
        #: is that server's.
        trying = ""

        async def _connect_to_server(self, s: Any) -> None:
            self.trying = str(getattr(getattr(s, "uri", None), "netloc", ""))
            await super()._connect_to_server(s)

        async def _process_info(
            self, info: dict[str, Any], initial_connection: bool = False
        ) -> None:
            urls = info.pop("connect_urls", None)
            if info.get("cluster") and isinstance(urls, list):
                self.cluster_size = max(len(urls), 1)
            server = self._current_server
            if server is not None and server.uri.scheme == "tls":
                info["tls_required"] = True  # the same dict nats-py decides TLS from
            await super()._process_info(info, initial_connection)

    return Client_


class NatsSetupError(Exception):
    """Something about the NATS side that no retry fixes; ``str()`` is one line saying what
    to do."""


class Health:
    """What the NATS connection is going through, for the status line and warnings (set from
    nats-py's callbacks on the loop's thread; read from anywhere)."""

    def __init__(self) -> None:
        self.up = False
        self.cause = ""  # why it is down, when it is


def _is_auth(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "authorization" in text or "authentication" in text


async def connect(settings: NatsSettings, health: Health | None = None) -> Any:
    """A NATS connection that reconnects by itself, forever, to any of the servers, once the
    first connection is made. That first one fails at once, in a line that says what to do, on
    what no retry can fix: credentials refused, every server refusing connections."""
    load_nats()
    health = health or Health()
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
    client = _client_class()()
    loop = asyncio.get_running_loop()
    failed: asyncio.Future[NatsSetupError] = loop.create_future()
    refused: set[str] = set()
    where = settings.shown

    def fail(error: NatsSetupError) -> None:
        if not failed.done():
            failed.set_result(error)

    async def on_error(exc: Exception) -> None:  # nats-py prints these otherwise
        health.cause = _reason(exc)
        if health.up:
            return  # reconnecting: it goes on by itself; the status line says so
        if _is_auth(exc):
            fail(
                NatsSetupError(
                    f"NATS at {where} refused the credentials ({exc}): check the user and"
                    " password or token in the URL, or --nats-creds"
                )
            )
        elif isinstance(exc, ConnectionRefusedError):
            refused.add(client.trying)
            if len(refused) >= len(settings.servers):
                fail(
                    NatsSetupError(
                        f"NATS at {where} refused the connection: is nats-server running"
                        " there, on that port?"
                    )
                )

    async def on_disconnect() -> None:
        health.up = False
        health.cause = health.cause or "disconnected"

    async def on_reconnect() -> None:
        health.up = True
        health.cause = ""

    options.update(error_cb=on_error, disconnected_cb=on_disconnect, reconnected_cb=on_reconnect)
    connecting = asyncio.ensure_future(client.connect(**options))
    await asyncio.wait(
        {connecting, failed}, timeout=settings.connect_timeout, return_when=asyncio.FIRST_COMPLETED
    )
    if connecting.done() and connecting.exception() is None:
        health.up = True
        return client
    connecting.cancel()
    try:  # closing what never opened is best effort, and bounded
        await asyncio.wait_for(client.close(), 2.0)
    except (Exception, asyncio.CancelledError):  # noqa: BLE001
        pass
    if failed.done():
        raise failed.result()
    if connecting.done() and not connecting.cancelled() and connecting.exception() is not None:
        raise NatsSetupError(f"cannot connect to NATS at {where}: {connecting.exception()}")
    cause = f" (last: {health.cause})" if health.cause else ""
    raise NatsSetupError(
        f"no answer from NATS at {where} within {settings.connect_timeout:g} s"
        f" (--connect-timeout){cause}"
    )


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def covers(filters: list[str], prefix: str) -> bool:
    """Whether a stream taking subjects ``filters`` takes every ``<prefix>.<form>``."""
    want = prefix.split(".") + [">"]
    for subject in filters:
        tokens = subject.split(".")
        for i, token in enumerate(tokens):
            if token == ">":
                if i < len(want):
                    return True
                break
            if i >= len(want) - 1 or (token != "*" and token != want[i]):
                break
    return False


async def existing_stream(js: Any, settings: NatsSettings, fix: str) -> Any:
    """The stream's configuration, or None when there is no such stream. Raises NatsSetupError
    when the server has no JetStream, or when the stream does not take ``<prefix>.>`` (``fix``
    says what to do about that: relay and ``--from`` differ)."""
    from nats.errors import NoRespondersError
    from nats.js.errors import NotFoundError, ServiceUnavailableError

    # Nobody answers: no responders, or no reply in time (nats-py's TimeoutError is asyncio's).
    no_answer = (NoRespondersError, asyncio.TimeoutError)
    try:
        await js.account_info()
    except no_answer:
        raise NatsSetupError(
            f"JetStream at {settings.shown} does not answer: its cluster has no metadata"
            " leader (it is electing one, or fewer than half of its servers are up)"
        ) from None
    except ServiceUnavailableError:
        raise NatsSetupError(
            f"NATS at {settings.shown} has no JetStream: start nats-server with -js (or a"
            " jetstream {} block in its config)"
        ) from None
    except NotFoundError:
        raise NatsSetupError(
            f"JetStream is not enabled for this account on NATS at {settings.shown}: enable it"
            " for the account (jetstream limits in its configuration)"
        ) from None
    try:
        config = (await js.stream_info(settings.stream)).config
    except NotFoundError:
        return None
    except no_answer:
        raise NatsSetupError(
            f"stream {settings.stream} at {settings.shown} does not answer: it has no leader"
            " (its only replica is on a server that is down, or its servers are electing"
            " one): start that server again; a stream with replicas elects another by itself"
        ) from None
    subjects = list(config.subjects or [])
    if not covers(subjects, settings.prefix):
        raise NatsSetupError(
            f"stream {settings.stream} on {settings.shown} takes"
            f" {', '.join(subjects) or 'no subjects'}, not {settings.prefix}.>: {fix}"
        )
    return config


class LoopThread:
    """An asyncio event loop in a daemon thread; :meth:`call` runs a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="nats", daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for it; one that outlives ``timeout`` is
        cancelled (left running, a stuck fetch would take messages nobody reads)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:  # not the builtin one before Python 3.11
            future.cancel()
            raise

    def stop(self) -> None:
        """Cancel what still runs on the loop (publishes being retried, nats-py's own tasks),
        let it unwind, then stop and close the loop: nothing is left pending for the
        interpreter to complain about at exit ("Task was destroyed but it is pending!")."""

        async def unwind() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=2.0) if tasks else None

        if self.thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(unwind(), self.loop).result(3.0)
            except Exception:  # noqa: BLE001 - best effort: the loop goes either way
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(2.0)
        if not self.thread.is_alive() and not self.loop.is_closed():
            self.loop.close()
