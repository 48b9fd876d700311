"""``secfeed ui --serve [PORT]``: the same app in a web browser, through textual-serve.

Each browser page runs its own ``secfeed ui`` (the same options, less ``--serve``) under
Textual's web driver. The server listens on 127.0.0.1 unless ``--serve-host`` says otherwise,
says where on stderr (stdout stays data only), and stops at Ctrl-C or SIGTERM with exit 0.
"""

from __future__ import annotations

import shlex
import sys

from ..errors import ExitCode, SecfeedError

#: The options that belong to the server, not to the app each page runs.
SERVER_OPTIONS = ("--serve", "--serve-host")


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

    from ..run.diagnostics import Diagnostics

    # exec: the page's app is the server's own child (the shell does not stay between them),
    # so that it can end with the server (``main.die_with_parent``).
    command = "exec " + " ".join(
        shlex.quote(a) for a in [sys.executable, "-m", "secfeed_cli", *app_args(argv)]
    )
    server = Server(command, host=host, port=port, title="secfeed ui")
    diag = Diagnostics()

    async def quiet(app: web.Application) -> None:
        """In place of textual-serve's banner on stdout."""

    server.on_startup = quiet  # type: ignore[method-assign]

    async def main() -> None:
        runner = web.AppRunner(await server._make_app(), handle_signals=False)
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
        diag.info(f"serving the ui on {server.public_url} (Ctrl-C stops)")
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


def _host(host: str) -> str:
    """A listening address as a URL's host (an IPv6 one in brackets)."""
    return f"[{host}]" if ":" in host else host
