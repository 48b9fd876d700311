"""`--details` end to end: the emulator's feed holds filings whose real documents an
http.server playing EDGAR serves; the CLI prints each with what its document says."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from msgspec.structs import replace

from secfeed_cli.details.edgar import index_headers_path, submission_path
from secfeed_cli.details.stage import Missing
from secfeed_cli.emulator.server import Emulator
from secfeed_cli.wire.details import Details, EightK
from secfeed_cli.wire.filing import Filing

from .conftest import cli_env, ndjson, secfeed
from .edgar_docs import document
from .test_edgar import Sec

Factory = Callable[..., Emulator]
UA = "Test Desk test@example.com"

#: Real documents, with the CIK and accession EDGAR files them under (MANIFEST.tsv).
FORM4 = ("form4-full-S-officer-aar-0001127602-25-001055.txt", 1750, "0001127602-25-001055")
EIGHT_K = (
    "8k-index-headers-0000905729-24-000095-item-5.07.html",
    803164,
    "0000905729-24-000095",
)
MALFORMED = (
    "form4-full-MALFORMED-split-end-tag-2006-M-D-phantom-0001225259-06-000003.txt",
    1024795,
    "0001225259-06-000003",
)


def record(form: str, cik: int, accession: str, name: str) -> dict[str, object]:
    return {
        "type": "fillings",
        "form": form,
        "description": f"{form} - {name} ({cik:010d}) (Filer)",
        "filling_date": "2026-01-08",
        "accepted_time": "2026-01-08T22:16:36Z",
        "accession_no": accession,
        "cik": cik,
    }


@pytest.fixture
def edgar() -> Iterator[Sec]:
    server = Sec()
    for name, cik, accession in (FORM4, MALFORMED):
        server.routes[submission_path(cik, accession)] = (200, document(name).read_bytes())
    name, cik, accession = EIGHT_K
    server.routes[index_headers_path(cik, accession)] = (200, document(name).read_bytes())
    yield server
    server.close()


@pytest.fixture
def feed(emulator_factory: Factory, tmp_path: Path) -> Emulator:
    records = [
        record("4", FORM4[1], FORM4[2], "AAR CORP"),
        record("10-Q", 320193, "0000320193-26-000001", "Apple Inc."),  # no details for it
        record("8-K", EIGHT_K[1], EIGHT_K[2], "CHOICEONE FINANCIAL SERVICES INC"),
        record("4", MALFORMED[1], MALFORMED[2], "PHANTOM"),
        record("4", 1750, "0001127602-25-999999", "AAR CORP"),  # not on EDGAR
    ]
    sample = tmp_path / "sample.ndjson"
    sample.write_text("".join(json.dumps(r) + "\n" for r in records))
    return emulator_factory(backlog=5, sample_path=str(sample))


def run(em: Emulator, edgar: Sec, *more: str, tmp_path: Path) -> object:
    env = cli_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    return secfeed(
        "tail",
        "--url",
        em.url,
        "--backlog-only",
        "--details",
        "--user-agent",
        UA,
        "--edgar-url",
        edgar.url,
        *more,
        env=env,
    )


def test_each_filing_carries_what_its_document_says(
    feed: Emulator, edgar: Sec, tmp_path: Path
) -> None:
    res = run(feed, edgar, "--details-wait", "10", "-v", tmp_path=tmp_path)
    assert res.returncode == 0, res.stderr  # type: ignore[attr-defined]
    lines = ndjson(res.stdout)  # type: ignore[attr-defined]
    assert [r["form"] for r in lines] == ["4", "10-Q", "8-K", "4", "4"]  # order kept
    sale, plain, eight_k, broken, missing = lines
    assert sale["details"]["status"] == "ok"
    assert sale["details"]["summary"] == (
        "S 1,500 @ $66.90 = $100,355 · Senior VP, GC, CAO & Secretary"
    )
    assert sale["details"]["issuer"]["ticker"] == "AIR"
    assert "details" not in plain
    assert eight_k["details"]["items"] == ["5.07"] and eight_k["details"]["sic"] == "6022"
    assert broken["details"]["status"] == "error"
    assert broken["details"]["reason"].startswith("malformed XML")
    assert missing["details"]["status"] == "unavailable"
    assert all(ua == UA for _, ua, _ in edgar.seen)
    err = res.stderr.decode()  # type: ignore[attr-defined]
    assert "details: 2 ok, 0 deferred, 1 unavailable, 1 errors" in err, err


def test_documents_are_fetched_once_then_kept(feed: Emulator, edgar: Sec, tmp_path: Path) -> None:
    run(feed, edgar, "--details-wait", "10", tmp_path=tmp_path)
    asked = len(edgar.seen)
    again = run(feed, edgar, "--details-wait", "10", tmp_path=tmp_path)
    assert ndjson(again.stdout)[0]["details"]["status"] == "ok"  # type: ignore[attr-defined]
    # Only the documents EDGAR did not have, or that could not be read, are asked again: the
    # missing one twice (a 404 is retried), the malformed one once (never kept).
    assert len(edgar.seen) - asked == 3


def test_a_slow_edgar_defers_the_details_not_the_filings(
    feed: Emulator, edgar: Sec, tmp_path: Path
) -> None:
    edgar.stall.set()  # EDGAR never answers in time
    res = run(feed, edgar, "--details-wait", "0.5", tmp_path=tmp_path)
    assert res.returncode == 0, res.stderr  # type: ignore[attr-defined]
    statuses = [r.get("details", {}).get("status") for r in ndjson(res.stdout)]  # type: ignore[attr-defined]
    assert statuses == ["deferred", None, "deferred", "deferred", "deferred"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ((), "SEC's fair-access rules require every automated client to say who it is"),
        (("--user-agent", "Desk"), "has no email address"),
    ],
)
def test_details_without_a_user_agent_is_a_usage_error(
    emulator_factory: Factory, args: tuple[str, ...], said: str
) -> None:
    em = emulator_factory(backlog=1)
    res = secfeed("tail", "--url", em.url, "--details", *args)
    assert res.returncode == 2
    assert said in res.stderr.decode()


def test_an_edgar_on_this_machine_needs_no_user_agent(
    feed: Emulator, edgar: Sec, tmp_path: Path
) -> None:
    """SEC's rule is for sec.gov: --details against a loopback --edgar-url runs without
    --user-agent, and still says who asks."""
    env = cli_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    args = ("tail", "--url", feed.url, "--backlog-only", "--details", "--details-wait", "10")
    res = secfeed(*args, "--edgar-url", edgar.url, env=env)
    assert res.returncode == 0, res.stderr
    assert ndjson(res.stdout)[0]["details"]["status"] == "ok"
    assert {ua for _, ua, _ in edgar.seen} == {
        "secfeed (an EDGAR on this machine) secfeed@localhost"
    }
    elsewhere = secfeed(*args, "--edgar-url", "https://www.sec.gov", env=env)
    assert elsewhere.returncode == 2 and b"--user-agent" in elsewhere.stderr


def test_details_with_from_nats_is_a_usage_error() -> None:
    res = secfeed(
        "tail", "--from", "nats://127.0.0.1:4222", "--details", "--user-agent", UA, "-n", "1"
    )
    assert res.returncode == 2
    assert b"--details and --from nats:// exclude each other" in res.stderr


def test_details_with_from_an_archive_asks_edgar_for_what_it_lacks(
    feed: Emulator, edgar: Sec, tmp_path: Path
) -> None:
    """An archive is one user's own: filings kept without details get them on reading, as the
    README says (a relay's stream is every consumer's, so there the relay asks)."""
    path = tmp_path / "filings.db"
    kept = secfeed("tail", "--url", feed.url, "--backlog-only", "-q", "--archive", str(path))
    assert kept.returncode == 0, kept.stderr
    env = cli_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    args = ("--details", "--user-agent", UA, "--edgar-url", edgar.url, "-f", "ndjson")
    res = secfeed("tail", "--from", str(path), "--backlog-only", *args, env=env)
    assert res.returncode == 0, res.stderr
    status = {r["accession_no"]: r.get("details", {}).get("status") for r in ndjson(res.stdout)}
    assert status[FORM4[2]] == "ok" and status[EIGHT_K[2]] == "ok", status
    assert len(status) == 5 and edgar.seen


def test_csv_and_the_table_show_the_summary(feed: Emulator, edgar: Sec, tmp_path: Path) -> None:
    import csv
    import io

    res = run(feed, edgar, "--details-wait", "10", "-f", "csv", tmp_path=tmp_path)
    rows = list(csv.DictReader(io.StringIO(res.stdout.decode())))  # type: ignore[attr-defined]
    assert list(rows[0])[-2:] == ["details_status", "details_summary"]
    assert rows[0]["details_status"] == "ok" and rows[0]["details_summary"].startswith("S 1,500")
    assert rows[1]["details_status"] == "" and rows[2]["details_summary"] == "5.07 shareholder vote"
    table = run(feed, edgar, "--details-wait", "10", "-f", "table", tmp_path=tmp_path)
    lines = table.stdout.decode().splitlines()  # type: ignore[attr-defined]
    assert lines[0].split()[:4] == ["discovered", "form", "company", "details"]
    assert any("5.07 shareholder vote" in line for line in lines)


def test_hooks_get_the_summary_and_the_whole_details(
    feed: Emulator, edgar: Sec, tmp_path: Path
) -> None:
    hook = (
        f'printf "%s|%s\\n" "$SECFEED_DETAILS_STATUS" "$SECFEED_DETAILS_SUMMARY"'
        f' >> "{tmp_path}/env"; cat >> "{tmp_path}/stdin"'
    )
    res = run(
        feed,
        edgar,
        "--details-wait",
        "10",
        "--exec",
        hook,
        "--exec-jobs",
        "1",
        "--alert-backlog",
        tmp_path=tmp_path,
    )
    assert res.returncode == 0, res.stderr  # type: ignore[attr-defined]
    said = (tmp_path / "env").read_text().splitlines()
    assert said[0] == "ok|S 1,500 @ $66.90 = $100,355 · Senior VP, GC, CAO & Secretary"
    assert said[1] == "|"  # a 10-Q: no details
    first = json.loads((tmp_path / "stdin").read_text().splitlines()[0])
    assert first["details"]["issuer"]["name"] == "AAR CORP"


@pytest.mark.parametrize(
    ("args", "forms"),
    [
        (("--insider-code", "S"), ["4"]),
        (("--insider-code", "P,A"), []),
        (("--item", "5.07"), ["8-K"]),
        (("--item", "2.02,5.7"), ["8-K"]),
        (("--sic", "37xx"), ["4"]),
        (("--sic", "6022,3720"), ["4", "8-K"]),
        (("--min-value", "100000"), ["4"]),
        (("--min-value", "100356"), []),
        (("--insider-code", "S", "--sic", "60xx"), []),
    ],
)
def test_filters_that_wait_for_details(
    feed: Emulator, edgar: Sec, tmp_path: Path, args: tuple[str, ...], forms: list[str]
) -> None:
    res = run(feed, edgar, "--details-wait", "10", "-v", *args, tmp_path=tmp_path)
    assert res.returncode == 0, res.stderr  # type: ignore[attr-defined]
    assert [r["form"] for r in ndjson(res.stdout)] == forms  # type: ignore[attr-defined]
    err = res.stderr.decode()  # type: ignore[attr-defined]
    assert f"{len(forms)} shown, {5 - len(forms)} filtered out" in err, err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--item", "5.02"), "need --details"),
        (("--details", "--user-agent", UA, "--item", "five"), "is not an 8-K item"),
        (("--details", "--user-agent", UA, "--sic", "28x"), "is not a SIC code"),
    ],
)
def test_detail_filters_are_checked_at_once(
    emulator_factory: Factory, args: tuple[str, ...], said: str
) -> None:
    em = emulator_factory(backlog=1)
    res = secfeed("tail", "--url", em.url, *args)
    assert res.returncode == 2
    assert said in res.stderr.decode()


def test_demo_details_shows_real_documents_offline(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    res = secfeed(
        "demo",
        "--details",
        "-n",
        "8",
        "--backlog-only",
        "-f",
        "ndjson",
        env=cli_env(XDG_CACHE_HOME=str(cache)),
    )
    assert res.returncode == 0, res.stderr
    # The emulator's documents never go into the user's EDGAR cache.
    assert not (cache / "secfeed" / "edgar").exists()
    records = ndjson(res.stdout)
    assert len(records) == 8
    assert all(r["details"]["status"] == "ok" for r in records), records
    summaries = {r["accession_no"]: r["details"]["summary"] for r in records}
    assert summaries["0001127602-25-001055"].startswith("S 1,500 @ $66.90")
    assert summaries["0000905729-24-000095"] == "5.07 shareholder vote"


def test_demo_details_gives_every_real_document_in_one_run_of_the_whole_backlog() -> None:
    """The 17 filings the emulator has documents of end its 317-filing backlog, behind
    about 150 that EDGAR has not (each a 404 and a retry at 5 a second): NDJSON waits for
    every filing's details, so the 14 of forms with details are all in, none deferred."""
    from secfeed_cli.details.stage import kind
    from secfeed_cli.emulator.edgar import documents

    res = secfeed("demo", "--details", "--backlog-only", "-f", "ndjson", timeout=300)
    assert res.returncode == 0, res.stderr
    records = ndjson(res.stdout)
    assert len(records) == 317  # 300 of the sample, then the 17
    bundled = {r["accession_no"] for r in documents()[0] if kind(str(r["form"])) is not None}
    ok = {r["accession_no"] for r in records if r.get("details", {}).get("status") == "ok"}
    assert len(bundled) == 14 and bundled <= ok, sorted(bundled - ok)
    assert not [r for r in records if r.get("details", {}).get("status") == "deferred"]


def test_demo_takes_the_filters_that_wait_for_details() -> None:
    # -n 40: the newest 40 of the backlog, the 17 with documents among them (the whole
    # backlog's 300 cost 300 requests for nothing here)
    res = secfeed(
        "demo", "--details", "--backlog-only", "-n", "40", "-f", "ndjson", "--insider-code", "S"
    )
    assert res.returncode == 0, res.stderr
    records = ndjson(res.stdout)
    assert records and all("S" in r["details"]["summary"] for r in records)
    res = secfeed(
        "demo", "--details", "--backlog-only", "-n", "40", "-f", "ndjson", "--item", "5.07"
    )
    five07 = ndjson(res.stdout)  # ChoiceOne's, and 1-800-Flowers' (the demo's --text 8-K)
    assert [r["details"]["items"] for r in five07] == [["5.07"], ["5.07"]]
    assert {r["accession_no"] for r in five07} == {"0000905729-24-000095", "0000000000-23-900003"}
    res = secfeed("demo", "--backlog-only", "--item", "5.07")
    assert res.returncode == 2 and b"need --details" in res.stderr


def test_a_schedule_13g_carries_who_holds_how_much(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    name = "sc13g-full-submission-xml-2-persons-0001815572-25-000002.txt"
    cik, accession = 1374328, "0001815572-25-000002"  # the subject company's folder
    server = Sec()
    server.routes[submission_path(cik, accession)] = (200, document(name).read_bytes())
    sample = tmp_path / "sample.ndjson"
    sample.write_text(json.dumps(record("SCHEDULE 13G", cik, accession, "FITLIFE BRANDS")) + "\n")
    em = emulator_factory(backlog=1, sample_path=str(sample))
    try:
        res = run(em, server, "--details-wait", "10", tmp_path=tmp_path)
    finally:
        server.close()
    [line] = ndjson(res.stdout)  # type: ignore[attr-defined]
    assert line["details"]["status"] == "ok"
    assert [p["percent"] for p in line["details"]["persons"]] == [5.1, 5.1]  # joint: not summed
    assert line["details"]["summary"].startswith("5.1% of FITLIFE BRANDS, INC.")


def _emulated(em: Emulator, *more: str, tmp_path: Path) -> tuple[list[dict[str, object]], str]:
    res = secfeed(
        "tail",
        "--url",
        em.url,
        "--backlog-only",
        "-n",
        "8",
        "--details",
        "--user-agent",
        UA,
        "--edgar-url",
        em.url.replace("ws://", "http://"),
        *more,
        env=cli_env(XDG_CACHE_HOME=str(tmp_path / "cache")),
    )
    assert res.returncode == 0, res.stderr
    return [r["details"] for r in ndjson(res.stdout)], res.stderr.decode()


def _asked(em: Emulator) -> int:
    return sum(1 for e in em.history() if e.name == "edgar")


@pytest.mark.parametrize("fault", ["403", "429"])
def test_the_emulators_edgar_refusing_stops_every_request(
    emulator_factory: Factory, tmp_path: Path, fault: str
) -> None:
    em = emulator_factory(backlog=0, edgar=True, edgar_fault=fault)
    details, _ = _emulated(em, "--details-wait", "10", tmp_path=tmp_path)
    assert len(details) == 8  # -n 8: the newest 8 of the filings the emulator has documents of
    assert all(d["status"] == "unavailable" for d in details), details
    assert f"SEC answered {fault}" in str(details[0]["reason"]) or "no EDGAR request" in str(
        details[0]["reason"]
    )
    assert _asked(em) <= 3  # the requests already under way when the first refusal came


def test_the_emulators_edgar_lagging_the_feed_is_asked_again(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=0, edgar=True, edgar_fault="404-first")
    details, _ = _emulated(em, "--details-wait", "20", tmp_path=tmp_path)
    assert [d["status"] for d in details] == ["ok"] * 8
    assert _asked(em) == 16  # each document: a 404, then the document


@pytest.mark.parametrize(("fault", "status"), [("truncated", "error"), ("malformed", "error")])
def test_the_emulators_edgar_sending_broken_documents(
    emulator_factory: Factory, tmp_path: Path, fault: str, status: str
) -> None:
    em = emulator_factory(backlog=0, edgar=True, edgar_fault=fault)
    details, _ = _emulated(em, "--details-wait", "10", tmp_path=tmp_path)
    form4s = [d for d in details if "items" not in d]
    assert form4s and all(d["status"] == status for d in form4s), details
    assert all(str(d["reason"]) for d in form4s)


def test_the_emulators_edgar_being_slow_defers_the_details(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=0, edgar=True, edgar_fault="slow")
    details, _ = _emulated(em, "--details-wait", "0.3", tmp_path=tmp_path)
    assert [d["status"] for d in details] == ["deferred"] * 8


def test_serve_names_the_same_faults_the_emulator_has() -> None:
    from secfeed_cli.cli.serve import EDGAR_FAULTS
    from secfeed_cli.emulator.edgar import FAULTS

    assert EDGAR_FAULTS == FAULTS


@pytest.mark.unit
def test_notifications_carry_the_summary() -> None:
    from secfeed_cli.alerts.notify import message
    from secfeed_cli.companies.lookup import Companies

    def filing(n: int, details: dict[str, object] | None) -> Filing:
        extra = {} if details is None else {"details": details}
        made = replace(_filing(False), accession_no=f"0001127602-25-00105{n}", extra=extra)
        Companies().fill([made])  # as the run does before any output sees a filing
        return made

    sale: dict[str, object] = {"status": "ok", "summary": "S 1,500 @ $66.90 = $100,355 · Officer"}
    title, body = message([filing(5, sale)])
    assert title == "4: AAR CORP (AIR)" and "S 1,500 @ $66.90 = $100,355 · Officer" in body
    _, both = message([filing(5, sale), filing(6, None)])
    lines = both.splitlines()
    assert "· S 1,500 @ $66.90" in lines[0] and "S 1,500" not in lines[1]


def _filing(historical: bool) -> Filing:
    return Filing(
        accession_no="0001127602-25-001055",
        form="4",
        cik=1750,
        description="4 - AAR CORP (0000001750) (Issuer)",
        filing_date="2025-01-10",
        accepted_time="2025-01-10T21:07:30Z",
        discovered_time="2026-12-03T10:00:00Z",
        is_historical=historical,
    )


@pytest.mark.parametrize(("historical", "asked", "status"), [(False, 4, "ok"), (True, 2, None)])
def test_a_document_edgar_lacks_is_asked_again_with_backoff_if_new(
    historical: bool, asked: int, status: str | None
) -> None:
    """A live filing's missing document is asked for again, 1, 2, 4, 8 (here: hundredths of)
    seconds later while its wait lasts; a backlog filing's once (it is not new on EDGAR)."""
    from secfeed_cli.details.edgar import EdgarClient
    from secfeed_cli.details.stage import Enricher

    attempts: list[float] = []

    def fetch(filing: object, client: object) -> Details:
        attempts.append(time.monotonic())
        if len(attempts) < 4:
            return Missing(status="unavailable", reason="... is not on EDGAR (yet)")
        return EightK(summary="S 1,500")

    stage = Enricher(EdgarClient(UA), wait=30.0, fetch=fetch, retries=(0.01, 0.02, 0.04, 0.08))
    try:
        stage.add([_filing(historical)], time.time())
        [(out, _)] = stage.ready(block=True)
    finally:
        stage.close()
    assert len(attempts) == asked
    assert out.details_status == (status or "unavailable")
