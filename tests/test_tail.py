"""`secfeed tail` end to end: the real CLI in a subprocess against the emulator over loopback."""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import os
from collections.abc import Callable
from typing import Any

import pytest

from secfeed_cli.emulator.server import Emulator
from secfeed_cli.output.records import COLUMNS

from .conftest import (
    accessions,
    cli_env,
    ndjson,
    secfeed,
    secfeed_code,
    secfeed_popen,
    secfeed_process,
)
from .patience import WAIT

Factory = Callable[..., Emulator]


def backlog_records(em: Emulator) -> list[dict[str, Any]]:
    return [p.record for p in em.feed.backlog(em.config.backlog)]


def tail(em: Emulator, *args: str, **kw: Any) -> Any:
    return secfeed("tail", "--url", em.url, *args, **kw)


@pytest.fixture
def whole_sample(emulator_factory: Factory) -> Emulator:
    return emulator_factory(backlog=3409)


def test_ndjson_schema_key_order_and_values(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=40)
    res = tail(em, "--backlog-only")
    assert res.returncode == 0, res.stderr
    assert b"Traceback" not in res.stderr
    lines = res.stdout.decode().splitlines()
    records = [json.loads(line) for line in lines]
    published = em.feed.backlog(40)
    assert accessions(records) == [p.accession_no for p in published]
    for record, pub in zip(records, published, strict=True):
        assert list(record) == list(COLUMNS)
        wire = pub.record
        assert record["form"] == wire["form"]
        assert record["cik"] == wire["cik"]
        assert record["description"] == wire["description"]
        assert record["filing_date"] == wire["filling_date"]
        assert record["accepted_time"] == wire["accepted_time"]
        assert record["discovered_time"] == pub.discovered_time
        assert record["is_historical"] is True
        digits = wire["accession_no"].replace("-", "")
        assert record["url"] == (
            f"https://www.sec.gov/Archives/edgar/data/{wire['cik']}/{digits}/"
            f"{wire['accession_no']}-index.htm"
        )
    assert "connected to 127.0.0.1" in res.stderr.decode()


def test_auto_format_is_ndjson_when_piped(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=3)
    res = tail(em, "--backlog-only", "-q")
    assert len(ndjson(res.stdout)) == 3
    assert res.stderr == b""


def test_csv_header_and_quoting(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=200)
    res = tail(em, "--backlog-only", "-f", "csv")
    assert res.returncode == 0
    text = res.stdout.decode()
    assert text.startswith(",".join(COLUMNS) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["accession_no"] for r in rows] == [r["accession_no"] for r in backlog_records(em)]
    with_comma = [r for r in rows if "," in r["description"]]
    assert with_comma, "the sample has company names with commas"
    assert f'"{with_comma[0]["description"]}"' in text
    assert {r["is_historical"] for r in rows} == {"true"}


def test_raw_prints_frames_byte_identical(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=25)
    res = tail(em, "--backlog-only", "--raw")
    frames = [p.historical_frame for p in em.feed.backlog(25)]
    # Each stored frame is a WebSocket header (2 or 4 bytes) followed by the JSON payload.
    payloads = [f[4:] if f[1] == 126 else f[2:] for f in frames]
    assert res.stdout == b"".join(p + b"\n" for p in payloads)


def _expected(sample: list[dict[str, Any]], pred: Callable[[dict[str, Any]], bool]) -> list[str]:
    return [r["accession_no"] for r in sample if pred(r)]


def _is_match(form: str, pattern: str, amendments: bool = True) -> bool:
    form, pattern = form.upper(), pattern.upper()
    if fnmatch.fnmatchcase(form, pattern):
        return True
    return amendments and form.endswith("/A") and fnmatch.fnmatchcase(form[:-2], pattern)


@pytest.mark.parametrize(
    ("args", "pred"),
    [
        (["--form", "8-K"], lambda r: r["form"] in ("8-K", "8-K/A")),
        (["--form", "8-k", "--no-amendments"], lambda r: r["form"] == "8-K"),
        (
            ["--form", "10-K*,10-Q"],
            lambda r: _is_match(r["form"], "10-K*") or _is_match(r["form"], "10-Q"),
        ),
        (["--form", "SCHEDULE 13*"], lambda r: r["form"].startswith("SCHEDULE 13")),
        (["--form", "4", "--form", "3"], lambda r: r["form"] in ("3", "4", "3/A", "4/A")),
        (
            ["--exclude-form", "4,424B*,D"],
            lambda r: (
                not (
                    _is_match(r["form"], "4")
                    or _is_match(r["form"], "424B*")
                    or _is_match(r["form"], "D")
                )
            ),
        ),
        (["--cik", "0001665650"], lambda r: r["cik"] == 1665650),
        (
            ["--cik", "1665650", "--cik", "80661", "--form", "424B2"],
            lambda r: r["cik"] in (1665650, 80661) and _is_match(r["form"], "424B2"),
        ),
    ],
)
def test_filters(
    whole_sample: Emulator, args: list[str], pred: Callable[[dict[str, Any]], bool]
) -> None:
    res = tail(whole_sample, "--backlog-only", *args)
    assert res.returncode == 0, res.stderr
    got = accessions(ndjson(res.stdout))
    want = _expected(backlog_records(whole_sample), pred)
    assert got == want
    assert 0 < len(got) < 3409


def test_filtered_filings_are_counted_in_the_summary(whole_sample: Emulator) -> None:
    res = tail(whole_sample, "--backlog-only", "--form", "8-K", "-v")
    shown = len(ndjson(res.stdout))
    assert f"{shown} shown, {3409 - shown} filtered out" in res.stderr.decode()


def test_latency_fields_and_summary(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=5, rate=50)
    res = tail(em, "--no-backlog", "--count", "20", "--latency")
    assert res.returncode == 0, res.stderr
    records = ndjson(res.stdout)
    assert len(records) == 20
    for r in records:
        assert list(r)[-2:] == ["received_time", "latency_ms"]
        assert r["received_time"].endswith("Z") and isinstance(r["latency_ms"], float)
        assert r["is_historical"] is False
    err = res.stderr.decode()
    assert "20 shown" in err and "live latency p50" in err and "p95" in err and "max" in err


def test_backlog_only_without_heartbeats_settles(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=30)
    res = tail(em, "--backlog-only", "--no-heartbeat", "--settle", "0.3")
    assert res.returncode == 0
    assert len(ndjson(res.stdout)) == 30
    em.wait_for("disconnect", conn=1)  # the server has read all the client sent
    assert [e.name for e in em.history()].count("hello") == 0


def test_backlog_only_with_heartbeats_ends_at_first_heartbeat(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=30)
    res = tail(em, "--backlog-only")
    assert res.returncode == 0
    assert len(ndjson(res.stdout)) == 30
    em.wait_for("hello", conn=1)


def test_backlog_only_ends_at_first_live_filing(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=30, rate=20)
    res = tail(em, "--backlog-only", "--no-heartbeat", "--settle", "60")
    assert res.returncode == 0
    records = ndjson(res.stdout)
    assert len(records) == 30 and all(r["is_historical"] for r in records)


def test_no_backlog_prints_live_only(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=50, rate=40)
    res = tail(em, "--no-backlog", "--count", "5")
    records = ndjson(res.stdout)
    assert len(records) == 5
    assert not any(r["is_historical"] for r in records)
    sample = [r["accession_no"] for r in em.feed.sample]
    first = sample.index(records[0]["accession_no"])
    assert first >= 50  # after the backlog the connection got
    assert accessions(records) == sample[first : first + 5]  # consecutive live filings


def test_no_backlog_summary_counts_what_it_skipped(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=7)
    proc = secfeed_popen("tail", "--url", em.url, "--no-backlog", "--count", "2", "-v")
    em.wait_for("hello")
    em.publish(2)
    out, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 0, err
    assert len(ndjson(out)) == 2
    assert b"2 shown" in err and b"7 backlog filings skipped (--no-backlog)" in err


def test_output_that_could_not_be_written_is_not_shown(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=30)
    with open("/dev/full", "wb") as full:
        proc = secfeed_popen("tail", "--url", em.url, "--backlog-only", stdout=full)
        _, stderr = proc.communicate(timeout=WAIT)
    assert proc.returncode == 1
    err = stderr.decode()
    assert "cannot write output: No space left on device" in err
    assert "30 filings received, 0 shown" in err


def test_form_typos_warn_once_with_the_closest_edgar_form(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=5)
    res = tail(
        em, "--backlog-only", "--form", "8K,10Q,1O-K", "--form", "SC 13G", "--exclude-form", "8K"
    )
    assert res.returncode == 0, res.stderr  # a warning: a new form type can appear any day
    err = res.stderr.decode()
    assert "unknown form '8K' (did you mean 8-K?)" in err and err.count("'8K'") == 1
    assert "unknown form '10Q' (did you mean 10-Q?)" in err
    assert "unknown form '1O-K' (did you mean 10-K?)" in err
    assert "'SC 13G' was renamed SCHEDULE 13G" in err
    res = tail(em, "--backlog-only", "--form", "8-K,10-K*,schedule 13g/a,s-1", "--form", "4")
    assert res.returncode == 0 and b"warning" not in res.stderr, res.stderr


def test_count_stops_exactly(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=100)
    res = tail(em, "--count", "7")
    assert res.returncode == 0
    assert len(ndjson(res.stdout)) == 7


def test_duration_stops_a_quiet_feed(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=2)
    res = tail(em, "--duration", "0.5")
    assert res.returncode == 0
    assert len(ndjson(res.stdout)) == 2


def test_table_forced_on_a_pipe_prints_plain_rows(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=5, rate=50)
    res = tail(em, "-f", "table", "--count", "8")
    lines = res.stdout.decode().splitlines()
    assert lines[0].startswith("discovered")
    assert "── backlog above · live filings below ──" in lines
    assert len(lines) == 1 + 8 + 1
    assert "\x1b" not in res.stdout.decode()


def test_connection_refused_exits_4(emulator_factory: Factory) -> None:
    res = secfeed("tail", "--url", "ws://127.0.0.1:9", "--max-retries", "1")
    assert res.returncode == 4
    err = res.stderr.decode()
    assert "connection refused" in err and "Traceback" not in err


def described(emulator_factory: Factory, tmp_path: Any, descriptions: list[str]) -> Emulator:
    """An emulator whose backlog is real sample filings with these descriptions, in order."""
    import json as _json

    from secfeed_cli.emulator.feed import load_sample

    sample = load_sample()[: len(descriptions)]
    for record, text in zip(sample, descriptions, strict=True):
        record["description"] = text
    path = tmp_path / "s.ndjson"
    path.write_text("".join(_json.dumps(r) + "\n" for r in sample))
    return emulator_factory(backlog=len(descriptions), sample_path=str(path))


def test_csv_quoting_matches_the_csv_module(emulator_factory: Factory, tmp_path: Any) -> None:
    tricky = ["plain", "a, comma", 'say "hi"', "line\nbreak", "cr\rhere", '"', ",", ""]
    res = tail(described(emulator_factory, tmp_path, tricky), "--backlog-only", "-f", "csv")
    rows = list(csv.reader(io.StringIO(res.stdout.decode(), newline="")))
    col = rows[0].index("description")
    assert [r[col] for r in rows[1:]] == tricky
    reference = io.StringIO(newline="")
    csv.writer(reference).writerow(["x", "a, comma", 'say "hi"'])
    assert 'a, comma","say ""hi"""' in reference.getvalue()
    assert '"a, comma"' in res.stdout.decode() and '"say ""hi"""' in res.stdout.decode()


#: What a piped run has no use for, and what each would cost its start-up: rich (~20 ms, the
#: table only), dataclasses (compiled methods; records are msgspec Structs), hashlib (OpenSSL
#: for one SHA-1; _sha1 does it), random (reconnect jitter only), websocket-client (we frame and
#: mask ourselves).
NOT_IMPORTED = ("rich", "dataclasses", "hashlib", "random", "websocket")


def test_a_piped_run_with_diagnostics_imports_only_what_it_uses(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=3)
    code = (
        "import sys; from secfeed_cli.cli import main\n"
        "try:\n    main()\nfinally:\n"
        f"    loaded = [m for m in {NOT_IMPORTED!r} if m in sys.modules]\n"
        "    print('imported:', *loaded, file=sys.stderr)\n"
    )
    res = secfeed_code(code, "tail", "--url", em.url, "--backlog-only", "-v")
    err = res.stderr.decode()
    assert res.returncode == 0, err
    assert "secfeed: backlog complete: 3 filings" in err  # diagnostics were written
    assert err.rstrip().endswith("imported:")
    assert len(ndjson(res.stdout)) == 3


def test_csv_escapes_control_characters_and_neutralises_formulas(
    emulator_factory: Factory, tmp_path: Any
) -> None:

    cells = {
        '=HYPERLINK("http://x","y")': '\'=HYPERLINK("http://x","y")',
        "+1+1": "'+1+1",
        "-2": "'-2",
        "@SUM(A1)": "'@SUM(A1)",
        "\tTAB": "'\tTAB",
        "\rCR": "'\rCR",
        "clip \x1b]52;c;aGk=\x07 end": "clip \\x1b]52;c;aGk=\\x07 end",
        "title \x1b]0;pwned\x9c": "title \\x1b]0;pwned\\x9c",
        "nul\x00 and bell\x07": "nul\\x00 and bell\\x07",
        "ACME 8-K (Filer)": "ACME 8-K (Filer)",
    }
    res = tail(described(emulator_factory, tmp_path, list(cells)), "--backlog-only", "-f", "csv")
    text = res.stdout.decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    col = rows[0].index("description")
    assert [r[col] for r in rows[1:]] == list(cells.values())
    body = text.replace("\r\n", "").replace("\r", "").replace("\t", "")  # legal inside cells
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in body)


def test_raw_output_is_one_line_per_frame_even_when_the_frame_is_pretty_printed() -> None:
    import json as _json
    import socket

    from .rawserver import HEARTBEAT, RawServer, drain, filing, frame, upgrade

    pretty = _json.dumps(filing(1), indent=2).encode()
    compact = _json.dumps(filing(2), separators=(",", ":")).encode()

    def handler(sock: socket.socket, n: int) -> None:
        upgrade(sock)
        sock.sendall(frame(pretty) + frame(compact) + HEARTBEAT)
        drain(sock)

    server = RawServer(handler)
    try:
        res = secfeed("tail", "--url", server.url, "--backlog-only", "--raw")
    finally:
        server.close()
    assert res.returncode == 0, res.stderr
    lines = res.stdout.split(b"\n")
    assert lines[2:] == [b""] and len(lines) == 3
    assert _json.loads(lines[0]) == _json.loads(pretty)  # compacted, the same object
    assert lines[1] == compact  # byte-exact otherwise


def test_a_pipe_on_stdout_gets_a_1_mib_buffer(emulator_factory: Factory) -> None:
    # A burst then waits less on its reader (output/stdout.py); what it writes is unchanged.
    fcntl = pytest.importorskip("fcntl")
    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("no F_GETPIPE_SZ here (not Linux)")
    em = emulator_factory(backlog=5)
    read_end, write_end = os.pipe()
    try:
        before = fcntl.fcntl(read_end, fcntl.F_GETPIPE_SZ)
        proc = secfeed_popen("tail", "--url", em.url, "--backlog-only", stdout=write_end)
        os.close(write_end)
        with os.fdopen(read_end, "rb", closefd=False) as out:
            data = out.read()
        _, err = proc.communicate(timeout=WAIT)
        assert proc.returncode == 0, err
        assert len(ndjson(data)) == 5
        with open("/proc/sys/fs/pipe-max-size") as fh:
            want = min(1 << 20, int(fh.read()))
        assert before < want
        assert fcntl.fcntl(read_end, fcntl.F_GETPIPE_SZ) == want
    finally:
        os.close(read_end)


def test_every_duration_takes_a_unit(emulator_factory: Factory, tmp_path: Any) -> None:
    em = emulator_factory(backlog=2)
    res = secfeed(
        "tail",
        "--url",
        em.url,
        "--duration",
        "1s",
        "--stall-timeout",
        "5s",
        "--connect-timeout",
        "1m",
        "--exec-timeout",
        "30s",
        "--exec",
        "true",
    )
    assert res.returncode == 0, res.stderr
    assert len(ndjson(res.stdout)) == 2
    config = tmp_path / "config.toml"
    config.write_text('duration = "1s"\nsettle = "2s"\n')
    res = secfeed("tail", "--url", em.url, "--config", str(config))
    assert res.returncode == 0, res.stderr
    snap = secfeed("snapshot", "--url", em.url, "--timeout", "1m")
    assert snap.returncode == 0, snap.stderr
    bad = secfeed("tail", "--url", em.url, "--duration", "1x")
    assert bad.returncode == 2 and b"'1x' is not a duration (90, 30m, 1h, 7d)" in bad.stderr


def test_every_filing_received_is_in_one_bucket_of_the_summary(emulator_factory: Factory) -> None:
    import re

    em = emulator_factory(backlog=300)
    res = secfeed("tail", "--url", em.url, "--count", "2", "--form", "4,8-K", "-v")
    assert res.returncode == 0, res.stderr
    summary = next(line for line in res.stderr.decode().splitlines() if "received" in line)
    counts = {name: int(n) for n, name in re.findall(r"(\d+) ([a-z ]+?)(?:,|;|$| \()", summary)}
    received = counts.pop("filings received")
    assert received > 2, summary
    buckets = ("shown", "filtered out", "duplicates skipped", "not shown")
    assert sum(counts.get(b, 0) for b in buckets) == received, summary
    assert counts["shown"] == 2 and counts.get("not shown", 0) > 0, summary


def test_a_backlog_the_filters_leave_empty_says_so(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=20)
    res = secfeed("tail", "--url", em.url, "--backlog-only", "--cik", "1")
    assert res.returncode == 0, res.stderr
    assert res.stdout == b""
    assert b"backlog complete: 20 filings; none passed the filters" in res.stderr
    res = secfeed("tail", "--url", em.url, "--backlog-only")
    assert b"backlog complete: 20 filings\n" in res.stderr
    # -n 0 cuts after the filters: those that passed them are not "none".
    res = secfeed("tail", "--url", em.url, "--backlog-only", "-n", "0", "--form", "4,8-K,D")
    assert res.returncode == 0 and res.stdout == b"", res.stderr
    assert b"backlog complete: 20 filings\n" in res.stderr


# ---- -n/--lines: the newest N of the backlog, then follow -------------------------------


def test_lines_prints_the_newest_n_of_the_backlog(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=120)
    backlog = accessions(backlog_records(em))
    res = tail(em, "-n", "5", "--backlog-only", "-v")
    assert res.returncode == 0, res.stderr
    assert accessions(ndjson(res.stdout)) == backlog[-5:]
    err = res.stderr.decode()
    assert "5 shown, 0 filtered out" in err and "115 older backlog filings not shown (-n 5)" in err


def test_lines_counts_after_the_filters(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=300)
    wanted = [r["accession_no"] for r in backlog_records(em) if r["form"] == "4"]
    assert len(wanted) > 3
    res = tail(em, "--lines", "3", "--form", "4", "--backlog-only")
    assert res.returncode == 0, res.stderr
    assert accessions(ndjson(res.stdout)) == wanted[-3:]


def test_lines_larger_than_the_backlog_prints_all_of_it(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=12)
    res = tail(em, "-n", "50", "--backlog-only")
    assert accessions(ndjson(res.stdout)) == accessions(backlog_records(em))


def test_lines_then_follows_live_filings(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=40, rate=50)
    res = tail(em, "-n", "2", "--count", "5")
    assert res.returncode == 0, res.stderr
    records = ndjson(res.stdout)
    assert [r["is_historical"] for r in records] == [True, True, False, False, False]
    sample = [r["accession_no"] for r in em.feed.sample]
    first = sample.index(records[0]["accession_no"])
    # the newest two of the backlog, then the live filings right after them
    assert accessions(records) == sample[first : first + 5]


def test_lines_zero_is_live_filings_only(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=40, rate=50)
    res = tail(em, "-n", "0", "--count", "3", "-v")
    assert res.returncode == 0, res.stderr
    assert [r["is_historical"] for r in ndjson(res.stdout)] == [False] * 3
    assert b"40 older backlog filings not shown (-n 0)" in res.stderr


def test_lines_with_no_backlog_is_a_usage_error(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=4)
    res = tail(em, "-n", "3", "--no-backlog")
    assert res.returncode == 2
    assert b"-n/--lines and --no-backlog exclude each other" in res.stderr


def test_snapshot_lines_writes_the_newest_n(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=60)
    res = secfeed("snapshot", "--url", em.url, "-n", "4")
    assert res.returncode == 0, res.stderr
    assert accessions(ndjson(res.stdout)) == accessions(backlog_records(em))[-4:]


# ---- --since WHEN -------------------------------------------------------------------------


def discovered(em: Emulator) -> list[tuple[str, str]]:
    """(discovered_time, accession) of the emulator's backlog, oldest first, a second apart."""
    return [(p.discovered_time, p.accession_no) for p in em.feed.backlog(em.config.backlog)]


def test_since_keeps_filings_discovered_at_or_after_it(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=40)
    times = discovered(em)
    since = times[25][0]  # RFC 3339 UTC, as the feed sends it
    res = tail(em, "--since", since, "--backlog-only", "-v")
    assert res.returncode == 0, res.stderr
    assert accessions(ndjson(res.stdout)) == [a for _, a in times[25:]]
    assert b"15 shown, 25 filtered out" in res.stderr
    assert b"reaches back" not in res.stderr


def test_since_takes_an_offset_and_a_local_time(emulator_factory: Factory) -> None:
    from datetime import timedelta

    from secfeed_cli.wire.filing import parse_time

    em = emulator_factory(backlog=30)
    times = discovered(em)  # a second apart: the whole second after the 11th is in the 12th
    at = parse_time(times[10][0]).replace(microsecond=0) + timedelta(seconds=1)
    offset = at.astimezone().isoformat()  # this machine's offset, not Z
    local = at.astimezone().replace(tzinfo=None).isoformat(timespec="seconds")
    for when in (offset, local, local.replace("T", " ")):
        res = tail(em, "--since", when, "--backlog-only")
        assert res.returncode == 0, (when, res.stderr)
        assert accessions(ndjson(res.stdout)) == [a for _, a in times[11:]], when


def test_since_older_than_the_backlog_says_so(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=20)
    oldest = discovered(em)[0][0][:19]
    res = tail(em, "--since", "3d", "--backlog-only")
    assert res.returncode == 0, res.stderr
    assert len(ndjson(res.stdout)) == 20
    err = res.stderr.decode()
    assert f"the backlog reaches back only to {oldest}Z, not to --since " in err, err


def test_since_and_lines_together(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=50)
    times = discovered(em)
    res = tail(em, "--since", times[40][0], "-n", "3", "--backlog-only", "-v")
    assert accessions(ndjson(res.stdout)) == [a for _, a in times[-3:]]
    assert b"3 shown, 40 filtered out" in res.stderr
    assert b"7 older backlog filings not shown (-n 3)" in res.stderr


def test_snapshot_since(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=30)
    times = discovered(em)
    res = secfeed("snapshot", "--url", em.url, "--since", times[-4][0])
    assert res.returncode == 0, res.stderr
    assert accessions(ndjson(res.stdout)) == [a for _, a in times[-4:]]


@pytest.mark.parametrize("when", ["yesterdayish", "15x", "2026-13-01", "2026-02-30T10:00", "-1h"])
def test_since_refuses_what_is_not_a_time(emulator_factory: Factory, when: str) -> None:
    em = emulator_factory(backlog=3)
    res = tail(em, "--since", when, "--backlog-only")
    assert res.returncode == 2
    err = res.stderr.decode()
    assert "Invalid value for '--since'" in err and "Traceback" not in err, err


def test_table_in_a_pipe_takes_columns_and_utc(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=6)
    newest = em.feed.backlog(6)[-1]
    env = cli_env(TZ="EST5", COLUMNS="100")
    # TZ is read when the process starts: a process of its own.
    table = ("tail", "--url", em.url, "-f", "table", "--backlog-only")
    res = secfeed_process(*table, "--utc", env=env)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.decode().splitlines()
    assert max(len(line) for line in lines) <= 100 and "filed" not in lines[0]  # 100 wide
    row = next(line for line in lines if newest.accession_no in line)
    assert row.startswith(newest.discovered_time[11:19])  # UTC, not New York's time
    local = secfeed_process(*table, env=env)
    row = next(x for x in local.stdout.decode().splitlines() if newest.accession_no in x)
    assert not row.startswith(newest.discovered_time[11:19])
    wide = secfeed(
        "tail", "--url", em.url, "-f", "table", "--backlog-only", env=cli_env(COLUMNS="x")
    )
    assert "accepted" in wide.stdout.decode().splitlines()[0]  # not a width: 160
