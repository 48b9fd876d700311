"""The peers secfeed is measured against, each reading N messages from a URL.

    python bench/clients.py wsclient URL N     websocket-client, fastest settings, print frames
    python bench/clients.py wsclient-flush URL N   the same, each line flushed as it is read
    python bench/clients.py websockets URL N   the websockets library's sync client, print frames
    python bench/clients.py raw URL N          handshake, then read and discard raw socket bytes

Frames are written to stdout one per line, as a user's hand-written loop would, through a
64 KiB buffer (whatever PYTHONUNBUFFERED says), or with ``wsclient-flush`` a write per line
(for latency: each line leaves as soon as it is read).
"""

from __future__ import annotations

import sys
from typing import BinaryIO


def stdout(buffered: bool = True) -> BinaryIO:
    return open(sys.stdout.fileno(), "wb", buffering=1 << 16 if buffered else 0, closefd=False)


def wsclient(url: str, n: int, flush: bool = False) -> None:
    import websocket

    ws = websocket.create_connection(url, skip_utf8_validation=True)
    out = stdout(buffered=not flush)
    for _ in range(n):
        out.write(ws.recv_data()[1] + b"\n")
    out.flush()
    ws.close()


def wsclient_flush(url: str, n: int) -> None:
    wsclient(url, n, flush=True)


def websockets_sync(url: str, n: int) -> None:
    from websockets.sync.client import connect

    out = stdout()
    with connect(url, compression=None, max_size=None) as ws:
        for _ in range(n):
            message = ws.recv(decode=False)
            out.write(message + b"\n")
    out.flush()


def raw(url: str, n: int) -> None:
    """The firehose's ceiling: no framing, no parsing; count filings by their type tag."""
    import websocket

    ws = websocket.create_connection(url)
    sock = ws.sock
    assert sock is not None
    marker = b'{"type":"fillings"'
    seen = 0
    tail = b""
    while seen < n:
        data = sock.recv(1 << 20)
        if not data:
            raise SystemExit(f"connection closed after {seen} filings")
        chunk = tail + data
        seen += chunk.count(marker)
        tail = chunk[-(len(marker) - 1) :]
    ws.close()


if __name__ == "__main__":
    kind, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    clients = {
        "wsclient": wsclient,
        "wsclient-flush": wsclient_flush,
        "websockets": websockets_sync,
        "raw": raw,
    }
    clients[kind](url, count)
