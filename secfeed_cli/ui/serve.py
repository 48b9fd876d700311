"""``secfeed ui --serve [PORT]``: the same app in a web browser, through textual-serve.

Each browser page runs its own ``secfeed ui`` (the same options, less ``--serve``) under
Textual's web driver. The server listens on 127.0.0.1 unless ``--serve-host`` says otherwise,
says where on stderr (stdout stays data only), and stops at Ctrl-C or SIGTERM with exit 0.

127.0.0.1 does not keep other pages out: any page open in a browser on this machine can open
a websocket to it, and each socket would start an app that holds the API key. So, as Jupyter
does:

- every path is under a secret token (``/TOKEN/``, 128 random bits), printed once on stderr
  in the URL to open; anything else is a 404;
- the websocket takes only the served page's own origin (a browser always sends it);
- at most :data:`MAX_PAGES` pages run at once; more are told so (HTTP 503).
"""

from __future__ import annotations

import os
import secrets
import shlex
import sys
from typing import Any

from ..errors import ExitCode, SecfeedError
from .watch import SERVER_PID

#: The options that belong to the server, not to the app each page runs.
SERVER_OPTIONS = ("--serve", "--serve-host")
#: Pages (browser tabs) that may run at once: each is a ``secfeed ui`` process of its own.
MAX_PAGES = 4


def app_args(argv: list[str]) -> list[str]:
    """``argv`` (after ``secfeed``) less ``--serve [PORT]`` and ``--serve-host HOST``."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            out.extend(argv[i - 1 :])
            break
        name = arg.split("=", 1)[0]
        if name not in SERVER_OPTIONS:
            out.append(arg)
            continue
        if "=" in arg:
            continue
        if name == "--serve-host" or (i < len(argv) and argv[i].isdigit()):
            i += 1  # the option's value
    return out


def serve_ui(argv: list[str], host: str, port: int) -> int:
    """Serve until stopped; one line on stderr says where."""
    import asyncio
    import signal

    from aiohttp import web
    from textual_serve.server import Server

    from ..common.diagnostics import Diagnostics

    # exec: the page's app is the server's own child (the shell does not stay between them),
    # so that it can end with the server (``main.die_with_parent``).
    command = "exec " + " ".join(
        shlex.quote(a) for a in [sys.executable, "-m", "secfeed_cli", *app_args(argv)]
    )
    os.environ[SERVER_PID] = str(os.getpid())  # the pages' apps compare their parent to it
    server = Server(command, host=host, port=port, title="secfeed ui")
    diag = Diagnostics()
    token = secrets.token_urlsafe(16)
    pages = _Pages(server, MAX_PAGES)

    async def quiet(app: web.Application) -> None:
        """In place of textual-serve's banner on stdout."""

    server.on_startup = quiet  # type: ignore[method-assign]
    server.handle_websocket = pages.handle  # type: ignore[method-assign]

    async def main() -> None:
        root = web.Application()
        root.add_subapp(f"/{token}/", await server._make_app())  # every path under the token
        runner = web.AppRunner(root, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise SecfeedError(
                f"cannot serve the ui on {host}:{port}: {exc.strerror or exc}"
            ) from None
        bound = runner.addresses[0]
        server.public_url = f"http://{_host(host)}:{bound[1]}"  # the page's websocket URL
        pages.origin = server.public_url
        # The one place the token is said: the URL to open (the secret that lets a page in).
        diag.info(f"serving the ui on {server.public_url}/{token}/ (Ctrl-C stops)")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            import gc

            gc.collect()  # the pages' process transports go while the loop can take them

    asyncio.run(main())
    return ExitCode.OK


class _Pages:
    """textual-serve's websocket handler, let in only from the served page's own origin and
    at most ``limit`` at once."""

    def __init__(self, server: Any, limit: int) -> None:
        self.open_page = server.handle_websocket
        self.limit = limit
        self.running = 0
        self.origin = ""

    async def handle(self, request: Any) -> Any:
        from aiohttp import web

        origin = request.headers.get("Origin")
        if origin is not None and origin.rstrip("/").lower() != self.origin.lower():
            return web.Response(status=403, text="secfeed ui: not from this page's origin\n")
        if self.running >= self.limit:
            return web.Response(
                status=503, text=f"secfeed ui: {self.limit} pages are open already\n"
            )
        self.running += 1
        try:
            return await self.open_page(request)
        finally:
            self.running -= 1


def _host(host: str) -> str:
    """A listening address as a URL's host (an IPv6 one in brackets)."""
    return f"[{host}]" if ":" in host else host
