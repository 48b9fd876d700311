"""Local input of every kind (config and key files, URLs, the environment, signals during
start-up) ends as one line and a documented exit code, never an internal error; every file is
read with a cap; secrets of a proxy are masked in every form a hostile proxy can echo."""

from __future__ import annotations

import base64
import os
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from secfeed_cli.emulator.server import Emulator

from .conftest import Result, cli_env, ndjson, secfeed, secfeed_popen
from .patience import WAIT
from .rawserver import RawServer, header, read_request

BAD = [b"internal error", b"Traceback"]


def _clean(res: Result) -> str:
    err = res.stderr.decode("utf-8", "replace")
    assert not any(word.decode() in err for word in BAD), err
    return err


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (bytes(range(256)) * 8, "is not UTF-8 text"),
        (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "is not a config file: it nests too deeply"),
        (b"# " + b"x" * (2 << 20) + b"\n", "is larger than 1 MiB: too large to be one"),
        (b"url = 'ws://[::1'\n", "is not a valid ws:// or wss:// URL (Invalid IPv6 URL)"),
    ],
    ids=["binary", "deep", "huge", "bad-url"],
)
def test_a_bad_config_file_is_a_usage_error_naming_it(
    tmp_path: Path, content: bytes, said: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(content)
    res = secfeed("tail", "--config", str(path), "--count", "1")
    err = _clean(res)
    assert res.returncode == 2, err
    assert said in err
    if "url" not in said:
        assert str(path) in err


def test_an_endless_config_file_is_read_only_up_to_its_cap() -> None:
    res = secfeed("tail", "--config", "/dev/zero", "--count", "1", timeout=30)
    err = _clean(res)
    assert res.returncode == 2
    assert "config file /dev/zero is larger than 1 MiB: too large to be one" in err


@pytest.fixture
def keyed(emulator_factory: Callable[..., Emulator]) -> Emulator:
    return emulator_factory(api_key="sk-local-input-1", backlog=2)


def test_a_key_file_with_a_byte_order_mark_sends_the_key_without_it(
    keyed: Emulator, tmp_path: Path
) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes("\ufeffsk-local-input-1\n".encode())
    key_file.chmod(0o600)
    res = secfeed("tail", "--url", keyed.url, "--api-key-file", str(key_file), "--backlog-only")
    assert res.returncode == 0, _clean(res)
    assert len(ndjson(res.stdout)) == 2


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (bytes(range(128, 256)), "is not UTF-8 text"),
        (b"k" * (50 << 20), "is larger than 64 KiB: too large to be one"),
        (b"k" * 5000 + b"\n", "holds 5,000 characters on its line: longer than any API key"),
    ],
    ids=["binary", "50MB", "long-line"],
)
def test_a_bad_key_file_is_a_usage_error_at_once(tmp_path: Path, content: bytes, said: str) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(content)
    key_file.chmod(0o600)
    res = secfeed(
        "tail", "--url", "ws://127.0.0.1:9", "--api-key-file", str(key_file), "--count", "1"
    )
    err = _clean(res)
    assert res.returncode == 2, err
    assert said in err and str(key_file) in err


def test_a_key_longer_than_any_key_is_a_usage_error() -> None:
    env = cli_env(FINFEED_API_KEY="k" * 5000)
    res = secfeed("tail", "--url", "ws://127.0.0.1:9", "--count", "1", env=env)
    err = _clean(res)
    assert res.returncode == 2
    assert "the API key has 5,000 characters: longer than any API key (1024 at most)" in err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--url", "ws://[::1"], "'--url'"),
        (["--url", "ws://127.0.0.1:99999"], "its port is not 0-65535"),
        (["--from", "nats://127.0.0.1:99999"], "its port is not 0-65535"),
        (["--from", "nats://[::1"], "Invalid IPv6 URL"),
        (["--proxy", "http://[::1", "--url", "ws://127.0.0.1:9"], "the proxy URL is not"),
        (["--proxy", "http://127.0.0.1:70000", "--url", "ws://127.0.0.1:9"], "0-65535"),
    ],
    ids=["ipv6", "ws-port", "nats-port", "nats-ipv6", "proxy-ipv6", "proxy-port"],
)
def test_a_malformed_url_is_a_usage_error(args: list[str], said: str) -> None:
    res = secfeed("tail", *args, "--count", "1")
    err = _clean(res)
    assert res.returncode == 2, err
    assert said in err


def test_relay_to_a_port_out_of_range_is_a_usage_error() -> None:
    res = secfeed("relay", "--to", "nats://127.0.0.1:99999", "--url", "ws://127.0.0.1:9")
    err = _clean(res)
    assert res.returncode == 2
    assert "'--to': the URL is not a valid nats:// or tls:// URL (its port is not 0-65535)" in err


def test_a_malformed_proxy_in_the_environment_is_a_usage_error_naming_it() -> None:
    env = cli_env(HTTPS_PROXY="http://user:pw@[::1")
    res = secfeed("tail", "--url", "wss://127.0.0.1:9", "--api-key", "k", "--count", "1", env=env)
    err = _clean(res)
    assert res.returncode == 2
    assert "HTTPS_PROXY: the proxy URL is not a valid http:// or socks5:// or socks5h:// URL" in err
    assert "pw" not in err


@pytest.fixture
def echoing_proxy() -> Iterator[RawServer]:
    """A raw-socket HTTP proxy that refuses every CONNECT with a 407 whose reason echoes the
    request's Proxy-Authorization header (kept in ``notes``)."""

    def refuse(sock: socket.socket, n: int) -> None:
        echo = header(read_request(sock), "Proxy-Authorization").encode()
        server.note(echo)
        sock.sendall(b"HTTP/1.1 407 Denied " + echo + b"\r\nContent-Length: 0\r\n\r\n")

    server = RawServer(refuse)
    yield server
    server.close()


def test_a_proxy_echoing_its_credentials_never_gets_them_printed(
    echoing_proxy: RawServer,
) -> None:
    port, seen = echoing_proxy.port, echoing_proxy.notes
    password = "s3cret/pw+"
    quoted = "s3cret%2Fpw%2B"
    env = cli_env(NO_PROXY="", no_proxy="")
    res = secfeed(
        "tail",
        "--url",
        "ws://feed.test:9/",
        "--proxy",
        f"http://alice:{quoted}@127.0.0.1:{port}",
        "--max-retries",
        "0",
        "--count",
        "1",
        env=env,
    )
    err = _clean(res)
    assert res.returncode == 4, err
    basic = base64.b64encode(f"alice:{password}".encode())
    assert seen and seen[0] == b"Basic " + basic  # the proxy got the credentials, and echoed them
    assert "the proxy refused the tunnel (HTTP 407" in err
    for form in (password, quoted, basic.decode()):
        assert form not in err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("click", ("tail", "--count", "1")),  # before the CLI's handlers are in place
        ("nats", ("tail", "--from", "nats://127.0.0.1:9", "--count", "1")),  # a lazy import
    ],
    ids=["loading", "lazy-import"],
)
def test_a_signal_while_the_cli_is_still_loading_exits_quietly(
    tmp_path: Path, module: str, args: tuple[str, ...], signum: int
) -> None:
    # A stand-in for a module the CLI imports that says it is being imported, then takes its
    # time: the signal lands inside the CLI's imports, deterministically.
    fake = tmp_path / module
    fake.mkdir()
    fifo = tmp_path / "importing"
    os.mkfifo(fifo)
    (fake / "__init__.py").write_text(
        f"import time\nopen({str(fifo)!r}, 'w').close()\ntime.sleep(60)\n"
    )
    env = cli_env(PYTHONPATH=str(tmp_path))
    proc = secfeed_popen(*args, env=env)
    with open(fifo) as importing:  # opens once the stand-in opens it for writing
        importing.read()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 128 + signum, err
    assert out == b""
    assert b"Traceback" not in err and b"internal error" not in err, err
