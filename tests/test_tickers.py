"""Company names and tickers: the bundled map, `secfeed tickers` against a real local HTTP server
playing SEC (http.server on 127.0.0.1), and the --ticker / --watchlist filters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from secfeed_cli.emulator.server import Emulator

from .conftest import ROOT, cli_env, ndjson, secfeed

Factory = Callable[..., Emulator]
#: SEC's company_tickers.json of 2026-02-13 (shared/data/SOURCES.md), gzipped, byte-identical
#: inside: what scripts/make_tickers.py built the bundled map from.
SHARED = ROOT / "tests" / "data" / "sec-company-tickers-2026-02-13.json.gz"
UA = "secfeed tests tests@example.com"
#: A small map in SEC's format: one CIK renamed, one new CIK with two tickers.
SMALL = {
    "0": {"cik_str": 1637757, "ticker": "CWEN", "title": "Clearway Renamed For Test"},
    "1": {"cik_str": 4242, "ticker": "TSTA", "title": "Test Company A"},
    "2": {"cik_str": 4242, "ticker": "TSTB", "title": "Test Company A"},
}
SMALL_BODY = json.dumps(SMALL).encode()


class Sec:
    """What the fake SEC does, and what it saw."""

    def __init__(self) -> None:
        self.body = SMALL_BODY
        self.mode = "ok"  # ok | truncate | forbid | garbage
        self.etag = '"v1"'
        self.modified = "Fri, 13 Feb 2026 10:00:00 GMT"
        self.requests: list[dict[str, str]] = []


def _handler(sec: Sec) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            headers = {k.lower(): v for k, v in self.headers.items()}
            sec.requests.append(headers)
            agent = headers.get("user-agent", "")
            if sec.mode == "forbid" or "@" not in agent:
                self._answer(403, b"Your Request Originates from an Undeclared Automated Tool")
            elif headers.get("if-none-match") == sec.etag:
                self.send_response(304)
                self.end_headers()
            elif sec.mode == "truncate":
                self.send_response(200)
                self.send_header("Content-Length", str(len(sec.body)))
                self.end_headers()
                self.wfile.write(sec.body[: len(sec.body) // 2])
                self.wfile.flush()
                self.close_connection = True
            else:
                body = b"<html>maintenance</html>" if sec.mode == "garbage" else sec.body
                self._answer(200, body, {"ETag": sec.etag, "Last-Modified": sec.modified})

        def _answer(self, code: int, body: bytes, extra: dict[str, str] | None = None) -> None:
            self.send_response(code)
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def sec() -> Iterator[tuple[Sec, str]]:
    state = Sec()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/files/company_tickers.json"
    finally:
        server.shutdown()
        server.server_close()


def run(
    *args: str, cache: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "secfeed_cli", *args],
        capture_output=True,
        timeout=60,
        env=cli_env(XDG_CACHE_HOME=str(cache), **(env or {})),
        cwd=ROOT,
    )


def test_update_needs_a_user_agent_and_sends_it_as_given(
    sec: tuple[Sec, str], tmp_path: Path
) -> None:
    state, url = sec
    res = run("tickers", "update", "--source", url, cache=tmp_path)
    assert res.returncode == 2
    assert b"--user-agent 'Your Name you@example.com'" in res.stderr
    assert state.requests == []  # nothing was asked without one

    res = run("tickers", "update", "--source", url, "--user-agent", UA, "--force", cache=tmp_path)
    assert res.returncode == 0, res.stderr
    assert [r["user-agent"] for r in state.requests] == [UA]
    cached = tmp_path / "secfeed" / "company_tickers.json"
    assert cached.read_bytes() == SMALL_BODY
    assert b"ticker map updated: 3 rows, 2 CIKs" in res.stderr

    # The environment variable does as well.
    res = run(
        "tickers",
        "update",
        "--source",
        url,
        "--force",
        cache=tmp_path,
        env={"SECFEED_USER_AGENT": UA},
    )
    assert res.returncode == 0, res.stderr


def test_a_second_update_is_conditional_and_304_keeps_the_cache(
    sec: tuple[Sec, str], tmp_path: Path
) -> None:
    state, url = sec
    args = ("tickers", "update", "--source", url, "--user-agent", UA, "--force")
    assert run(*args, cache=tmp_path).returncode == 0
    cached = tmp_path / "secfeed" / "company_tickers.json"
    before = cached.stat().st_mtime_ns
    res = run(*args, cache=tmp_path)
    assert res.returncode == 0, res.stderr
    second = state.requests[1]
    assert second["if-none-match"] == state.etag
    assert second["if-modified-since"] == state.modified
    assert b"unchanged since the last update (HTTP 304)" in res.stderr
    assert cached.stat().st_mtime_ns == before and cached.read_bytes() == SMALL_BODY


@pytest.mark.parametrize(
    ("mode", "code", "message"),
    [
        ("truncate", 4, b"closed the connection after"),
        ("garbage", 1, b"is not SEC's company_tickers.json"),
        ("forbid", 4, b"HTTP 403"),
    ],
)
def test_a_failed_update_leaves_the_cache_untouched(
    sec: tuple[Sec, str], tmp_path: Path, mode: str, code: int, message: bytes
) -> None:
    state, url = sec
    args = ("tickers", "update", "--source", url, "--user-agent", UA, "--force")
    assert run(*args, cache=tmp_path).returncode == 0
    folder = tmp_path / "secfeed"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    state.mode, state.etag = mode, '"v2"'  # a new version, which fails to arrive
    res = run(*args, cache=tmp_path)
    assert res.returncode == code, res.stderr
    assert message in res.stderr and b"Traceback" not in res.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # no temp files either
    if mode == "forbid":
        assert b"User-Agent with your name and email" in res.stderr
        assert b"10 requests a second" in res.stderr


def test_the_cached_map_is_preferred_and_a_corrupt_one_falls_back_with_one_warning(
    sec: tuple[Sec, str], tmp_path: Path, emulator_factory: Factory
) -> None:
    _, url = sec
    em = emulator_factory(backlog=40)
    bundled = ndjson(run("tail", "--url", em.url, "--backlog-only", cache=tmp_path).stdout)
    clearway = [r for r in bundled if r["cik"] == 1637757]
    assert clearway and clearway[0]["company"] == "Clearway Energy LLC"  # not in the map
    assert clearway[0]["ticker"] is None

    assert (
        run(
            "tickers", "update", "--source", url, "--user-agent", UA, "--force", cache=tmp_path
        ).returncode
        == 0
    )
    res = run("tail", "--url", em.url, "--backlog-only", cache=tmp_path)
    cached = [r for r in ndjson(res.stdout) if r["cik"] == 1637757]
    assert [(r["company"], r["ticker"]) for r in cached] == [("Clearway Renamed For Test", "CWEN")]
    info = run("tickers", "info", cache=tmp_path)
    assert b"map:     cached" in info.stdout and url.encode() in info.stdout
    assert b"ciks:    2" in info.stdout and b"warning" not in info.stderr  # fetched just now

    (tmp_path / "secfeed" / "company_tickers.json").write_bytes(b'{"0": {"cik_str": "x"')
    res = run("tail", "--url", em.url, "--backlog-only", "-f", "csv", cache=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stderr.count(b"is not SEC's company_tickers.json") == 1
    assert b"using the map bundled with secfeed" in res.stderr
    assert b"Clearway Energy LLC" in res.stdout
    info = run("tickers", "info", cache=tmp_path)
    assert b"map:     bundled" in info.stdout


def test_info_warns_about_an_old_map(tmp_path: Path) -> None:
    folder = tmp_path / "secfeed"
    folder.mkdir()
    (folder / "company_tickers.json").write_bytes(SMALL_BODY)
    old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 40 * 86400))
    meta = {"source": "https://mirror.example/x.json", "fetched": old, "checked": old}
    (folder / "company_tickers.meta.json").write_text(json.dumps(meta))
    res = run("tickers", "info", cache=tmp_path)
    assert res.returncode == 0
    assert b"age:     40 days" in res.stdout
    assert b"the ticker map is 40 days old (over 30)" in res.stderr


def test_lookup_by_ticker_cik_and_name(tmp_path: Path) -> None:
    res = run("tickers", "lookup", "aapl", "0000320193", "berkshire hath", "BRK.B", cache=tmp_path)
    assert res.returncode == 0, res.stderr
    rows = ndjson(res.stdout)
    assert [(r["query"], r["cik"]) for r in rows] == [
        ("aapl", 320193),
        ("0000320193", 320193),
        ("berkshire hath", 1067983),
        ("BRK.B", 1067983),
    ]
    assert rows[0]["tickers"] == ["AAPL"] and rows[0]["name"] == "Apple Inc."
    assert rows[2]["tickers"] == ["BRK-B", "BRK-A"]
    res = run("tickers", "lookup", "AAPL", "no such company xyz", cache=tmp_path)
    assert res.returncode == 1 and len(ndjson(res.stdout)) == 1
    assert b"no company matches 'no such company xyz'" in res.stderr


def test_ticker_and_watchlist_filters(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(backlog=300)

    def here(*args: str) -> Any:  # in this process: a dozen runs, no interpreter each
        return secfeed(*args, env=cli_env(XDG_CACHE_HOME=str(tmp_path)))

    everything = ndjson(here("tail", "--url", em.url, "--backlog-only").stdout)

    def only(*args: str) -> list[dict[str, Any]]:
        res = here("tail", "--url", em.url, "--backlog-only", *args)
        assert res.returncode == 0, res.stderr
        return ndjson(res.stdout)

    from secfeed_cli.companies.tickers import load_bundled

    sec_map = load_bundled()
    jpm = [r for r in everything if r["cik"] in sec_map.ciks_of("JPM")]
    assert jpm and only("--ticker", "jpm") == jpm
    # Another filer of the backlog with a ticker (the sample is real EDGAR data).
    other = next(r for r in everything if r["ticker"] and r["cik"] not in sec_map.ciks_of("JPM"))
    both = [r for r in everything if r["cik"] in {*sec_map.ciks_of("JPM"), other["cik"]}]
    assert len(both) > len(jpm)
    assert only("--ticker", f"JPM,{other['ticker'].lower()}") == [
        r
        for r in everything
        if r["cik"] in {*sec_map.ciks_of("JPM"), *sec_map.ciks_of(other["ticker"])}
    ]
    assert only("--ticker", "JPM", "--cik", str(other["cik"])) == both  # one set with --cik

    watch = tmp_path / "watch.txt"
    watch.write_text(f"# my list\nJPM   # the bank\n\n{other['cik']:010d}\n")
    assert only("--watchlist", str(watch)) == both

    res = here("tail", "--url", em.url, "--ticker", "APPL")
    assert res.returncode == 2
    assert b"unknown ticker 'APPL' (closest: AAPL" in res.stderr
    # A stale line (a delisted ticker) is a warning; the rest of the list is used.
    watch.write_text("JPM\nNOSUCHTICKERX\n")
    res = here("tail", "--url", em.url, "--watchlist", str(watch), "--backlog-only")
    assert res.returncode == 0, res.stderr
    assert ndjson(res.stdout) == jpm
    said = f"warning: watchlist {watch} line 2: unknown ticker 'NOSUCHTICKERX'"
    assert said.encode() in res.stderr and b"; skipped" in res.stderr
    # Nothing resolves: an error (exit 2), as --ticker on the command line always is.
    watch.write_text("NOSUCHTICKERX\n")
    res = here("tail", "--url", em.url, "--watchlist", str(watch))
    assert res.returncode == 2
    assert b"nothing in the watchlist resolves: watchlist" in res.stderr


def test_the_bundled_map_is_what_the_script_builds_from_the_shared_file() -> None:
    import gzip

    original = ROOT.parent / "shared" / "data" / "sec-company-tickers-2026-02-13.json"
    if original.exists():  # the copy in tests/data is the shared file, byte for byte
        assert gzip.decompress(SHARED.read_bytes()) == original.read_bytes()
    res = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_tickers.py"), str(SHARED), "--check"],
        capture_output=True,
    )
    assert res.returncode == 0, res.stderr
    from secfeed_cli.companies.tickers import Directory, load_bundled, parse_sec_json

    bundled = load_bundled()
    assert bundled.rows == parse_sec_json(gzip.decompress(SHARED.read_bytes()))
    assert (len(bundled.rows), len(bundled.name)) == (10_338, 8_049)
    assert bundled.date == "2026-02-13"
    assert os.path.getsize(ROOT / "secfeed_cli" / "data" / "company-tickers.json") < 800_000
    # What the first filing's lookup uses comes ready in the file: the same as from the rows.
    from_rows = Directory.from_rows(bundled.rows, bundled.source, bundled.date)
    assert (bundled.name, bundled.tickers) == (from_rows.name, from_rows.tickers)
    assert list(bundled.name) == list(from_rows.name)  # each CIK in the order of its first row


@pytest.mark.unit
@pytest.mark.parametrize("collecting", [True, False])
def test_loading_the_map_leaves_the_garbage_collector_as_it_was(
    collecting: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The map loads with the collector off; it must come back on (or stay off) as it was.
    import gc

    from secfeed_cli.companies import tickers

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no cached map: the bundled one
    tickers.forget()
    was = gc.isenabled()
    try:
        gc.enable() if collecting else gc.disable()
        assert tickers.directory().name[320193] == "Apple Inc."
        assert gc.isenabled() is collecting
    finally:
        gc.enable() if was else gc.disable()
        tickers.forget()


def test_a_corrupt_cached_map_is_said_also_when_a_ticker_loads_it(
    emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    cache = tmp_path / "cache" / "secfeed"
    cache.mkdir(parents=True)
    (cache / "company_tickers.json").write_text("{not json")
    em = emulator_factory(backlog=3)
    env = cli_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    res = secfeed("tail", "--url", em.url, "--ticker", "AAPL", "--backlog-only", env=env)
    assert res.returncode == 0, res.stderr
    err = res.stderr.decode()
    assert "is not SEC's company_tickers.json" in err and "using the map bundled" in err, err
