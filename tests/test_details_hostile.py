"""--details against documents, frames, rows and redirects that mean harm (issue 40): a bad
document is that filing's error and nothing more; a frame cannot pass details off as ours;
hostile XML is refused in any encoding; every request that reaches SEC keeps the pace; the
cache keeps what each EDGAR served apart and never keeps what could not be read."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
import pytest

from secfeed_cli.details import edgar
from secfeed_cli.details.edgar import EdgarClient, submission_path
from secfeed_cli.details.ownership import MAX_TEXT, parse_ownership, parse_xml
from secfeed_cli.details.sgml import DetailsError
from secfeed_cli.details.stage import Enricher
from secfeed_cli.emulator.server import Emulator
from secfeed_cli.wire.details import Details, EightK
from secfeed_cli.wire.filing import Filing

from .conftest import cli_env, ndjson, secfeed
from .edgar_docs import document
from .test_edgar import Sec

UA = "Test Desk test@example.com"
NAME = "form4-full-S-officer-aar-0001127602-25-001055.txt"
CIK, ACCESSION = 1750, "0001127602-25-001055"
FORM4 = document(NAME).read_text()
#: The real Form 4 made hostile: its one transaction of 1,500 shares is now of 1e308 shares.
HUGE = FORM4.replace("<value>1500</value>", "<value>1e308</value>", 1)


def filing(n: int, form: str = "4") -> Filing:
    return Filing(
        f"0001127602-25-{n:06d}", form, CIK, "4 - AAR CORP", "2025-01-01", "a", "b", False
    )


# -- 1. one bad document is that filing's error ------------------------------------------


@pytest.mark.unit
def test_an_absurd_number_is_refused_where_it_is_read() -> None:
    assert HUGE != FORM4
    xml = HUGE[HUGE.index("<XML>") + 5 : HUGE.index("</XML>")].strip()
    with pytest.raises(DetailsError, match="a number out of range in the XML: 1e308"):
        parse_ownership(xml)
    digits = xml.replace("1e308", "9" * 400)
    with pytest.raises(DetailsError, match="a number of 400 characters"):
        parse_ownership(digits)


def test_a_worker_never_dies_whatever_a_document_does() -> None:
    """The first three documents make the reading fail in ways no check foresaw (three is
    the number of workers: each would have died); every later filing still gets details."""
    failures = iter([OverflowError("int too large"), KeyError("x"), RecursionError()])

    def fetch(f: Filing, client: EdgarClient) -> Details:
        if f.accession_no.endswith(("1", "2", "3")):
            raise next(failures)
        return EightK(summary="fine")

    stage = Enricher(EdgarClient(UA, base_url="http://127.0.0.1:9"), wait=600, fetch=fetch)
    try:
        stage.add([filing(n) for n in range(1, 10)], 0.0)
        out = stage.ready(block=True)
    finally:
        stage.close()
    statuses = [f.details_status for f, _ in out]
    assert statuses == ["error"] * 3 + ["ok"] * 6
    reasons = [f.extra["details"].reason for f, _ in out[:3]]
    assert reasons == [
        f"the document could not be read ({name})"
        for name in ("OverflowError", "KeyError", "RecursionError")
    ]


def _run(em: Emulator, sec: Sec, tmp_path: Path, *more: str) -> Any:
    """test_details_cli's run, with a wait that a loaded machine does not reach."""
    from .test_details_cli import run

    return run(em, sec, "--details-wait", "60", *more, tmp_path=tmp_path)


def _form4(accession: str) -> dict[str, Any]:
    """A FinFeed frame of a Form 4 of AAR CORP (the real document's filer)."""
    return {
        "type": "fillings",
        "accession_no": accession,
        "form": "4",
        "cik": CIK,
        "description": "4 - AAR CORP (0000001750) (Issuer)",
        "filling_date": "2025-01-01",
        "accepted_time": "2025-01-01T12:00:00Z",
        "discovered_time": "2025-01-01T12:00:01Z",
        "is_historical": True,
    }


@pytest.fixture
def one_form4(emulator_factory: Callable[..., Emulator], tmp_path: Path) -> Emulator:
    record = _form4(ACCESSION)
    sample = tmp_path / "sample.ndjson"
    sample.write_text(json.dumps(record) + "\n")
    return emulator_factory(backlog=1, sample_path=str(sample))


@pytest.fixture
def two_edgars() -> Iterator[tuple[Sec, Sec]]:
    bad, good = Sec(), Sec()
    bad.routes[submission_path(CIK, ACCESSION)] = (200, HUGE.encode())
    good.routes[submission_path(CIK, ACCESSION)] = (200, FORM4.encode())
    yield bad, good
    bad.close()
    good.close()


def test_a_document_that_cannot_be_read_is_an_error_and_never_kept(
    one_form4: Emulator, two_edgars: tuple[Sec, Sec], tmp_path: Path
) -> None:
    bad, good = two_edgars
    cache = tmp_path / "cache"
    first = _run(one_form4, bad, tmp_path)
    assert first.returncode == 0, first.stderr
    (details,) = [r["details"] for r in ndjson(first.stdout)]
    assert details == {"status": "error", "reason": "a number out of range in the XML: 1e308"}
    assert not [p for p in cache.rglob("*") if p.is_file() and p.suffix == ".txt"]
    # Asked again of the same EDGAR, it is asked again (nothing was kept)...
    again = _run(one_form4, bad, tmp_path)
    assert len(bad.seen) == 2 and ndjson(again.stdout)[0]["details"]["status"] == "error"
    # ...and a healthy EDGAR's copy is read, and kept under that EDGAR's name alone.
    healthy = _run(one_form4, good, tmp_path)
    assert ndjson(healthy.stdout)[0]["details"]["status"] == "ok"
    kept = [p for p in cache.rglob("*.txt")]
    origin = "http_127.0.0.1_" + good.url.rsplit(":", 1)[1]
    assert [p.relative_to(cache / "secfeed" / "edgar").parts[0] for p in kept] == [origin]


@pytest.mark.unit
def test_the_cache_keeps_what_each_edgar_served_apart(
    two_edgars: tuple[Sec, Sec], tmp_path: Path
) -> None:
    bad, good = two_edgars
    path = submission_path(CIK, ACCESSION)
    assert EdgarClient(UA, base_url=bad.url, cache=tmp_path).document(path) == HUGE.encode()
    assert EdgarClient(UA, base_url=good.url, cache=tmp_path).document(path) == FORM4.encode()
    assert len(good.seen) == 1  # not served from what the other EDGAR gave
    assert len(list(tmp_path.rglob("*.txt"))) == 2


# -- 2. fields secfeed derives never come from outside -----------------------------------


def test_an_archive_row_with_details_not_ours_is_malformed_not_a_crash(
    emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    em = emulator_factory(backlog=5)
    archive = tmp_path / "a.db"
    res = secfeed("tail", "--url", em.url, "--backlog-only", "--archive", str(archive))
    assert res.returncode == 0, res.stderr
    with sqlite3.connect(archive) as db:
        first = db.execute("SELECT accession_no FROM filings ORDER BY rowid LIMIT 1").fetchone()[0]
        db.execute(
            "INSERT INTO details (accession_no, status, summary, document) VALUES (?, ?, ?, ?)",
            (first, "ok", None, json.dumps({"status": 5, "summary": {"x": 1}})),
        )
    db.close()
    for args in (
        ("snapshot", "-f", "ndjson"),
        ("snapshot", "-f", "csv"),
        ("tail", "--backlog-only", "-f", "table"),
    ):
        back = secfeed(*args, "--from", str(archive), terminal=args[0] == "tail")
        err = back.stderr.decode()
        assert "internal error" not in err and "Traceback" not in err, err
        assert "'details' is not secfeed's details object" in err, err
        assert first.encode() not in back.stdout
        assert back.stdout.count(b"\n") >= 4


# -- 3. hostile XML in any encoding --------------------------------------------------------

BOMB = (
    '<?xml version="1.0" encoding="UTF-16"?>'
    '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    "<ownershipDocument><remarks>&b;&b;&b;</remarks></ownershipDocument>"
)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("codec", "declared"),
    [("utf-8", "UTF-8"), ("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-16", "UTF-16")],
)
def test_a_document_type_is_refused_in_any_encoding(codec: str, declared: str) -> None:
    """UTF-16 without a byte-order mark hid ``<!DOCTYPE`` from a check of the bytes."""
    data = BOMB.replace('encoding="UTF-16"', f'encoding="{declared}"').encode(codec)
    assert b"<!DOCTYPE" not in data.upper() or codec == "utf-8"
    with pytest.raises(DetailsError, match="declares a document type"):
        parse_xml(data)
    with pytest.raises(DetailsError, match="malformed XML"):  # an encoding expat cannot read
        parse_xml(BOMB.replace('encoding="UTF-16"', 'encoding="UTF-16-LE"').encode("utf-16-le"))


@pytest.mark.unit
def test_what_one_document_adds_to_a_line_is_bounded() -> None:
    """A 3.5 MB remark (under the 4 MB the parser takes) adds MAX_TEXT characters, no more."""
    xml = FORM4[FORM4.index("<XML>") + 5 : FORM4.index("</XML>")].strip()
    assert "<remarks>" not in xml  # the real document has none: the test gives it one
    plain = parse_ownership(xml)
    long = xml.replace("</ownershipDocument>", f"<remarks>{'word ' * 700_000}</remarks>\n")
    details = parse_ownership(long + "</ownershipDocument>")
    remarks = details.remarks or ""
    assert len(remarks) == MAX_TEXT and remarks.endswith("…")
    size, before = len(msgspec.json.encode(details)), len(msgspec.json.encode(plain))
    assert size <= before + MAX_TEXT * 3 + 20  # UTF-8: the ellipsis is 3 bytes


# -- 6. the pace holds for every request that reaches SEC ----------------------------------


class Redirects:
    """A server whose ``/r/N`` redirects to ``/r/N+1`` up to ``/r/3``, which answers (three
    redirects: as many as secfeed follows)."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.arrivals.append(time.monotonic())
                n = int(self.path.rsplit("/", 1)[1])
                if n < 3:
                    self.send_response(302)
                    self.send_header("Location", f"/r/{n + 1}")
                    body = b""
                else:
                    self.send_response(200)
                    body = b"done"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def test_each_redirect_hop_keeps_the_pace_and_is_counted() -> None:
    server = Redirects()
    try:
        client = EdgarClient(UA, base_url=server.url, rate=2.0)
        assert client.document("/r/0", cache=False) == b"done"
        client.close()
    finally:
        server.close()
    times = server.arrivals
    assert len(times) == 4 and client.requests == 4  # every hop counted, as SEC counts it
    # At 2 a second, never 3 within a second: unpaced, the four arrived within milliseconds.
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 2, [round(t - times[0], 3) for t in times]


@pytest.mark.unit
def test_a_block_stops_a_redirect_chain_mid_way() -> None:
    client = EdgarClient(UA, base_url="http://127.0.0.1:9")
    client.blocked_until = client.clock() + 60
    with pytest.raises(edgar.Blocked):
        client._take_slot()
    assert client.requests == 0


# -- 7. filings waiting for details are never dropped, whatever ends the run ----------------


@pytest.fixture
def five_form4s(
    emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> Callable[..., Emulator]:
    records = [_form4(f"0001127602-25-{n:06d}") for n in range(1, 6)]
    sample = tmp_path / "five.ndjson"
    sample.write_text("".join(json.dumps(r) + "\n" for r in records))
    return lambda **kw: emulator_factory(backlog=5, sample_path=str(sample), **kw)


class _Noted(list[tuple[str, str, float]]):
    """Sec.seen that says when EDGAR has been asked (the filings are waiting by then)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = threading.Event()

    def append(self, item: tuple[str, str, float]) -> None:
        super().append(item)
        self.asked.set()


@pytest.fixture
def stalled() -> Iterator[Sec]:
    """An EDGAR that never answers while the test runs."""
    sec = Sec()
    sec.stall.set()
    sec.seen = _Noted()
    yield sec
    sec.close()


def test_the_feed_ending_lets_out_every_filing_waiting_for_details(
    five_form4s: Callable[..., Emulator], stalled: Sec, tmp_path: Path
) -> None:
    em = five_form4s(drop_after=3)  # three filings of the backlog, then the connection drops
    res = _run(em, stalled, tmp_path, "--no-reconnect", "--details-wait", "600")
    assert res.returncode == 4, res.stderr
    lines = ndjson(res.stdout)
    assert [r["accession_no"] for r in lines] == [f"0001127602-25-{n:06d}" for n in range(1, 4)]
    assert {r["details"]["status"] for r in lines} == {"deferred"}
    assert lines[0]["details"]["reason"] == "the run ended before they came"


@pytest.mark.parametrize("signum", [2, 15])
def test_a_signal_lets_out_every_filing_waiting_for_details(
    five_form4s: Callable[..., Emulator], stalled: Sec, tmp_path: Path, signum: int
) -> None:
    from .conftest import secfeed_popen
    from .patience import WAIT

    em = five_form4s()
    proc = secfeed_popen(
        "tail",
        "--url",
        em.url,
        "--details",
        "--details-wait",
        "600",
        "--user-agent",
        UA,
        "--edgar-url",
        stalled.url,
        env=cli_env(XDG_CACHE_HOME=str(tmp_path / "cache")),
    )
    assert stalled.seen.asked.wait(WAIT)  # type: ignore[attr-defined]
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 128 + signum, err
    lines = ndjson(out)
    assert len(lines) == 5 and {r["details"]["status"] for r in lines} == {"deferred"}
    assert b"5 received, 5 shown" in err or b"5 shown" in err, err
