"""Configuration precedence, secrets that never leak, TLS with a private CA, and proxies."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from secfeed_cli.emulator.server import Emulator

from .conftest import cli_env, ndjson, secfeed

Factory = Callable[..., Emulator]
KEY = "sk-9f8e7d6c5b4a-SECRET"


def write_config(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    res = secfeed("tail", "--config", str(tmp_path / "nope.toml"))
    assert res.returncode == 2 and b"cannot read config file" in res.stderr


@pytest.fixture
def keyed(emulator_factory: Factory) -> Emulator:
    return emulator_factory(api_key=KEY, backlog=3)


def _no_leak(res: object) -> None:
    out = getattr(res, "stdout", b"") + getattr(res, "stderr", b"")
    assert KEY.encode() not in out
    assert b"sk-9f8e7d6c5b4a" not in out


def test_key_every_way_is_accepted_and_never_printed(keyed: Emulator, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    key_file.chmod(0o600)
    cfg = write_config(tmp_path, f'api-key = "{KEY}"\n')
    ways = [
        (["--api-key", KEY], {}),
        (["--api-key-file", str(key_file)], {}),
        ([], {"FINFEED_API_KEY": KEY}),
        (["--config", str(cfg)], {}),
        (["--api-key", KEY, "--key-in", "query"], {}),
    ]
    for args, env in ways:
        res = secfeed(
            "tail",
            "--url",
            keyed.url,
            "--backlog-only",
            "-v",
            "--latency",
            *args,
            env=cli_env(**env),
        )
        assert res.returncode == 0, (args, res.stderr)
        assert len(ndjson(res.stdout)) == 3
        _no_leak(res)


def test_key_never_printed_on_errors(keyed: Emulator, tmp_path: Path) -> None:
    wrong = KEY[:-1] + "X"
    for args in (
        ["--url", keyed.url, "--api-key", wrong],
        ["--url", "ws://127.0.0.1:9", "--api-key", KEY, "--key-in", "query", "--max-retries", "1"],
        ["--url", "wss://127.0.0.1:9", "--api-key", KEY, "--max-retries", "0"],
    ):
        res = secfeed("tail", "-v", *args)
        assert res.returncode in (3, 4)
        out = res.stdout + res.stderr
        assert KEY.encode() not in out and wrong.encode() not in out


def test_flag_key_beats_env_key_beats_config(keyed: Emulator, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, 'api-key = "from-config"\n')
    env = cli_env(FINFEED_API_KEY=KEY)
    res = secfeed("tail", "--url", keyed.url, "--backlog-only", "--config", str(cfg), env=env)
    assert res.returncode == 0, res.stderr  # env beats config
    res = secfeed("tail", "--url", keyed.url, "--backlog-only", "--api-key", "flag-key", env=env)
    assert res.returncode == 3  # the flag beats env (and is wrong)


def test_exposed_key_and_config_files_warn(keyed: Emulator, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY)
    key_file.chmod(0o644)
    res = secfeed("tail", "--url", keyed.url, "--backlog-only", "--api-key-file", str(key_file))
    assert res.returncode == 0
    assert f"API key file {key_file} is readable by others" in res.stderr.decode()
    assert "chmod 600" in res.stderr.decode()
    cfg = write_config(tmp_path, f'api-key = "{KEY}"\n', mode=0o640)
    res = secfeed("tail", "--url", keyed.url, "--backlog-only", "--config", str(cfg))
    assert f"config file {cfg} is readable by others" in res.stderr.decode()
    _no_leak(res)


# ---- TLS ----------------------------------------------------------------------------------


@pytest.fixture
def tls(tmp_path: Path) -> tuple[str, str, str]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, cert_file, key_file = (str(tmp_path / n) for n in ("ca.pem", "cert.pem", "key.pem"))
    ca.cert_pem.write_to_path(ca_file)
    cert.cert_chain_pems[0].write_to_path(cert_file)
    for blob in cert.cert_chain_pems[1:]:
        blob.write_to_path(cert_file, append=True)
    cert.private_key_pem.write_to_path(key_file)
    return ca_file, cert_file, key_file


def test_wss_with_a_private_ca(emulator_factory: Factory, tls: tuple[str, str, str]) -> None:
    ca_file, cert_file, key_file = tls
    em = emulator_factory(backlog=4, certfile=cert_file, keyfile=key_file)
    assert em.url.startswith("wss://127.0.0.1:")
    env = cli_env()
    env.pop("SSL_CERT_FILE", None)
    res = secfeed("tail", "--url", em.url, "--backlog-only", "--ca-bundle", ca_file, env=env)
    assert res.returncode == 0, res.stderr
    assert len(ndjson(res.stdout)) == 4
    res = secfeed("tail", "--url", em.url, "--backlog-only", env=env)
    assert res.returncode == 4
    err = res.stderr.decode()
    assert "certificate" in err and "--ca-bundle" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2


# ---- proxies ------------------------------------------------------------------------------


def splice(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes (a proxy's tunnel); returns then."""

    def pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
    pipe(client, upstream)


class ConnectProxy:
    """A minimal HTTP CONNECT proxy on 127.0.0.1 that records its CONNECT targets."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.targets: list[str] = []
        self.auth: list[str] = []
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self._socks.append(client)
            t = threading.Thread(target=self._serve, args=(client,), daemon=True)
            t.start()

    def _serve(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        lines = head.split(b"\r\n")
        target = lines[0].split()[1].decode()
        self.targets.append(target)
        self.auth += [ln.decode() for ln in lines if ln.lower().startswith(b"proxy-authorization")]
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        self._socks.append(upstream)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        splice(client, upstream)

    def close(self) -> None:
        self.server.close()
        for s in self._socks:
            s.close()


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    p = ConnectProxy()
    yield p
    p.close()


def test_proxy_flag_and_environment(emulator_factory: Factory, proxy: ConnectProxy) -> None:
    em = emulator_factory(backlog=3)
    target = f"127.0.0.1:{em.port}"
    res = secfeed(
        "tail",
        "--url",
        em.url,
        "--backlog-only",
        "--proxy",
        f"http://user:pw@127.0.0.1:{proxy.port}",
    )
    assert res.returncode == 0, res.stderr
    assert len(ndjson(res.stdout)) == 3
    assert proxy.targets == [target]
    assert proxy.auth and proxy.auth[0].lower().startswith("proxy-authorization: basic")

    env = cli_env(http_proxy=f"http://127.0.0.1:{proxy.port}")
    env.pop("no_proxy", None)
    env.pop("NO_PROXY", None)
    res = secfeed("tail", "--url", em.url, "--backlog-only", env=env)
    assert res.returncode == 0, res.stderr
    assert proxy.targets == [target, target]

    env["no_proxy"] = "127.0.0.1"
    res = secfeed("tail", "--url", em.url, "--backlog-only", env=env)
    assert res.returncode == 0, res.stderr
    assert proxy.targets == [target, target]  # NO_PROXY: straight through


class Socks5:
    """A SOCKS5 proxy on 127.0.0.1 (RFC 1928/1929) that tunnels to 127.0.0.1 only and keeps
    what each client asked for: (user, password, address type, host, port)."""

    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        from .rawserver import RawServer

        self.user, self.password = user, password
        self.asked: list[tuple[str | None, str | None, int, str, int]] = []
        self.server = RawServer(self._serve)
        self.port = self.server.port

    def _exact(self, sock: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("client went away")
            data += chunk
        return data

    def _serve(self, sock: socket.socket, n: int) -> None:
        _, count = self._exact(sock, 2)
        methods = self._exact(sock, count)
        user = password = None
        if self.user is not None:
            if 2 not in methods:
                sock.sendall(b"\x05\xff")
                return
            sock.sendall(b"\x05\x02")
            _, size = self._exact(sock, 2)
            user = self._exact(sock, size).decode()
            password = self._exact(sock, self._exact(sock, 1)[0]).decode()
            ok = (user, password) == (self.user, self.password)
            sock.sendall(b"\x01\x00" if ok else b"\x01\x01")
            if not ok:
                return
        else:
            sock.sendall(b"\x05\x00")
        _, command, _, kind = self._exact(sock, 4)
        if kind == 1:
            host = socket.inet_ntoa(self._exact(sock, 4))
        elif kind == 3:
            host = self._exact(sock, self._exact(sock, 1)[0]).decode()
        else:
            host = socket.inet_ntop(socket.AF_INET6, self._exact(sock, 16))
        port = int.from_bytes(self._exact(sock, 2), "big")
        self.asked.append((user, password, kind, host, port))
        if host not in ("127.0.0.1", "localhost"):  # this test proxy goes nowhere else
            sock.sendall(b"\x05\x02\x00\x01" + bytes(6))
            return
        upstream = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + bytes(2))
        self.server.note(upstream)

        splice(sock, upstream)
        upstream.close()

    def close(self) -> None:
        self.server.close()


def test_socks5_proxies_as_curl_means_them(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=3)
    plain, guarded = Socks5(), Socks5("alice", "s3cret pw")
    try:
        res = secfeed(
            "tail", "--url", em.url, "--backlog-only", "--proxy", f"socks5://127.0.0.1:{plain.port}"
        )
        assert res.returncode == 0, res.stderr
        assert len(ndjson(res.stdout)) == 3
        assert plain.asked == [(None, None, 1, "127.0.0.1", em.port)]  # resolved here: an IP
        url = em.url.replace("127.0.0.1", "localhost")
        proxy = f"socks5h://alice:s3cret%20pw@127.0.0.1:{guarded.port}"
        res = secfeed("tail", "--url", url, "--backlog-only", "--proxy", proxy)
        assert res.returncode == 0, res.stderr
        assert guarded.asked == [("alice", "s3cret pw", 3, "localhost", em.port)]  # by name
        wrong = proxy.replace("s3cret%20pw", "nope")
        res = secfeed("tail", "--url", url, "--count", "1", "--proxy", wrong, "--max-retries", "0")
        assert res.returncode == 4
        assert b"the SOCKS5 proxy refused the user and password" in res.stderr
        assert b"nope" not in res.stderr
    finally:
        plain.close()
        guarded.close()


def test_an_unsupported_proxy_scheme_is_a_usage_error_at_once() -> None:
    for proxy in ("socks4://127.0.0.1:1080", "https://127.0.0.1:3128"):
        res = secfeed("tail", "--url", "ws://127.0.0.1:9", "--count", "1", "--proxy", proxy)
        assert res.returncode == 2, res.stderr
        assert b"the proxy URL is not an http:// or socks5:// or socks5h:// URL" in res.stderr
