"""--text and --grep (issue 44): the words of the real 8-Ks in shared/data/edgar-text, item by
item; the index page's document list; --grep's matches; and documents that mean harm (deep,
huge, a gzip bomb, never ending, scripts, entities, controls, bidi overrides), each a bounded,
clean result or a status with a reason.

The item codes and the phrases below were read from the documents by hand (their raw HTML,
with grep), not from secfeed's output."""

from __future__ import annotations

import gzip
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from secfeed_cli.details import text as textual
from secfeed_cli.details.edgar import EdgarClient, folder_path, index_headers_path
from secfeed_cli.details.stage import TextWanted, details_of
from secfeed_cli.filtering.grep import Grep, without_full_text
from secfeed_cli.wire.details import EightK, Section, Text
from secfeed_cli.wire.filing import Filing

from .conftest import ndjson, secfeed
from .rawserver import RawServer, read_request
from .test_edgar import Sec

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "edgar-text"
BUNDLED = Path(__file__).resolve().parents[1] / "secfeed_cli" / "emulator" / "edgar" / "text"
UA = "Test Desk test@example.com"

#: Each 8-K primary document: the items it declares (its manifest line, its own headings).
DECLARED = {
    "8-K-unknown-buckle-20241122-item-2.02-primary.htm": ["2.02", "9.01"],
    "8-K-unknown-afcgamma-20230317-items-5.02-7.01-primary.htm": ["5.02", "7.01", "9.01"],
    "8-K-unknown-1800flowers-20231214-item-5.07-primary.htm": ["5.07"],
    "8-K-0000887919-21-000012-item-8.01-primary.htm": ["8.01", "9.01"],
    "8-K-0001104659-03-004925-legacy-item-9-primary.htm": ["9"],
}
#: A phrase of one item of each, as the document says it.
PHRASES = {
    "8-K-unknown-buckle-20241122-item-2.02-primary.htm": ("2.02", "announced financial results"),
    "8-K-unknown-afcgamma-20230317-items-5.02-7.01-primary.htm": ("5.02", "Brandon Hetzel"),
    "8-K-unknown-1800flowers-20231214-item-5.07-primary.htm": (
        "5.07",
        "Annual Meeting of Stockholders on December 14, 2023",
    ),
    "8-K-0000887919-21-000012-item-8.01-primary.htm": ("8.01", "Peoples Bancorp, Inc."),
    "8-K-0001104659-03-004925-legacy-item-9-primary.htm": ("9", "Sarbanes-Oxley Act of 2002"),
}
APPLE = "8-K-0001193125-19-292676-item-8.01-full.txt"


def apple_primary() -> bytes:
    data = (DATA / APPLE).read_bytes()
    start = data.index(b"<TEXT>", data.index(b"<FILENAME>d828969d8k.htm")) + len(b"<TEXT>")
    return data[start : data.index(b"</TEXT>", start)]


# -- the real documents, item by item ----------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(DECLARED))
def test_each_real_8k_gives_every_item_it_declares_with_its_text(name: str) -> None:
    body, cut = textual.plain_text((DATA / name).read_bytes())
    items = textual.sections(body)
    assert [i.code for i in items] == DECLARED[name] and not cut
    assert all(i.words > 0 and i.excerpt and isinstance(i.text, str) for i in items)
    code, phrase = PHRASES[name]
    (item,) = [i for i in items if i.code == code]
    assert isinstance(item.text, str) and phrase in " ".join(item.text.split())


@pytest.mark.unit
def test_apples_full_submission_gives_its_items_and_what_they_say() -> None:
    body, _ = textual.plain_text(apple_primary())
    items = textual.sections(body)
    assert [i.code for i in items] == ["8.01", "9.01"]
    assert isinstance(items[0].text, str) and "issuance and sale of" in items[0].text
    assert isinstance(items[1].text, str) and "Underwriting Agreement" in items[1].text


@pytest.mark.unit
def test_the_cover_and_the_signatures_are_no_items_text() -> None:
    body, _ = textual.plain_text(
        (DATA / "8-K-0000887919-21-000012-item-8.01-primary.htm").read_bytes()
    )
    assert "Check the appropriate box" in body and "duly caused this report" in body
    for item in textual.sections(body):
        assert isinstance(item.text, str)
        assert "Check the appropriate box" not in item.text  # the cover
        assert "duly caused this report" not in item.text  # the signatures
    buckle, _ = textual.plain_text(
        (DATA / "8-K-unknown-buckle-20241122-item-2.02-primary.htm").read_bytes()
    )
    assert "EXHIBIT INDEX" in buckle
    last = textual.sections(buckle)[-1]
    assert isinstance(last.text, str) and "EXHIBIT INDEX" not in last.text


@pytest.mark.unit
def test_a_press_release_in_its_submission_wrapper_reads_as_the_release() -> None:
    body, _ = textual.plain_text((DATA / "8-K-unknown-buckle-20241122-ex99-1.htm").read_bytes())
    assert not body.startswith("EX-99.1") and "bke20241122-8kexhibit.htm" not in body
    assert "Net sales for the 13-week fiscal quarter ended" in " ".join(body.split())


@pytest.mark.unit
@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("Item 5.02  Departure of Directors", ("5.02", "Departure of Directors")),
        ("ITEM 9.01(d). Exhibits", ("9.01", "Exhibits")),
        ("Item 8.01. Other Events", ("8.01", "Other Events")),
        ("Item 9. Regulation FD Disclosure", ("9", "Regulation FD Disclosure")),
        ("Item 2.02", ("2.02", "Results of Operations and Financial Condition")),
        ("Item 7.1 Regulation FD Disclosure.", ("7.01", "Regulation FD Disclosure")),
        ("Item 9", None),
        ("Item 404(a) of Regulation S-K applies", None),
        ("Item 7.01 of this report is furnished", None),
        ("Items are listed below", None),
        ("The information in Item 2.02 is furnished", None),
    ],
)
def test_an_item_heading_is_told_from_a_sentence(
    line: str, heading: tuple[str, str] | None
) -> None:
    assert textual._heading(line) == heading


@pytest.mark.unit
def test_a_contents_line_gives_way_to_the_item_itself_and_a_running_head_is_not_an_item() -> None:
    text = "\n".join(
        [
            "Item 2.02 Results",  # a table of contents: no words under it
            "Item 9.01 Exhibits",
            "Item 2.02 Results of Operations",
            "Revenue rose.",
            "Item 2.02 Results of Operations",  # the heading again on the next page
            "It rose more.",
            "Item 9.01 Exhibits",
            "99.1 Press release",
            "SIGNATURES",
            "Jane Doe, CFO",
        ]
    )
    items = textual.sections(text)
    assert [(i.code, i.text) for i in items] == [
        ("2.02", "Revenue rose.\nIt rose more."),
        ("9.01", "99.1 Press release"),
    ]


@pytest.mark.unit
def test_an_excerpt_is_one_line_cut_at_a_word() -> None:
    assert textual.excerpt("a  b\n\nc") == "a b c"
    long = " ".join(["word"] * 200)
    cut = textual.excerpt(long)
    assert cut.endswith("…") and len(cut) <= textual.EXCERPT and "\n" not in cut
    assert cut[:-1].split() == ["word"] * len(cut[:-1].split())


# -- the index page ----------------------------------------------------------------------


@pytest.mark.unit
def test_the_index_page_lists_the_documents_with_their_types() -> None:
    page = (
        Path(__file__).resolve().parents[1]
        / "secfeed_cli/emulator/edgar/8k-index-headers-0001193125-24-152391-items-7.01-9.01.html"
    ).read_text()
    docs = textual.documents(page)
    assert docs[:2] == [
        textual.Document(1, "8-K", "d836506d8k.htm", "8-K"),
        textual.Document(2, "EX-99.1", "d836506dex991.htm", "EX-99.1"),
    ]
    assert textual.primary(docs, "8-K") == docs[0]
    assert textual.exhibits(docs, 3) == [docs[1]]
    assert "EX-101.SCH" in [d.type for d in docs]


@pytest.mark.unit
def test_a_file_name_that_would_leave_the_folder_is_not_listed() -> None:
    def entry(seq: int, kind: str, name: str) -> str:
        return (
            f"&lt;DOCUMENT&gt;\n&lt;TYPE&gt;{kind}\n&lt;SEQUENCE&gt;{seq}\n"
            f"&lt;FILENAME&gt;{name}\n&lt;DESCRIPTION&gt;x\n&lt;TEXT&gt;\n"
        )

    page = "".join(
        [
            entry(1, "8-K", "../../../etc/passwd"),
            entry(2, "EX-99.1", "a/b.htm"),
            entry(3, "EX-99.2", ".hidden"),
            entry(4, "EX-99.3", "fine.htm"),
        ]
    )
    assert [d.filename for d in textual.documents(page)] == ["fine.htm"]
    assert textual.primary(textual.documents(page), "8-K") is None


# -- --grep ------------------------------------------------------------------------------


def eightk(items: list[tuple[str, str]], description: str = "8-K - ACME CORP") -> Filing:
    sections = [
        Section(code=c, name=None, words=len(t.split()), excerpt=t[:10], text=t) for c, t in items
    ]
    details = EightK(items=[c for c, _ in items], text=Text(url="u", items=sections))
    return Filing(
        "0000000001-24-000001",
        "8-K",
        1,
        description,
        "2024-01-01",
        "a",
        "b",
        False,
        extra={"details": details},
    )


@pytest.mark.unit
def test_grep_matches_words_of_items_and_the_description_with_a_snippet() -> None:
    body = "x " * 80 + "the company identified a Material Weakness in its controls" + " y" * 80
    filing = eightk([("4.02", body)], description="8-K - WEAKNESS HOLDINGS")
    assert Grep(["material weakness"]).matches(filing) == []  # grep's case, by default
    matched = Grep(["material weakness"], ignore_case=True).matches(filing)
    assert [m["in"] for m in matched] == ["item 4.02"]
    m = matched[0]
    start, end = m["at"]
    assert m["snippet"][start:end] == "Material Weakness"
    assert m["snippet"].startswith("…") and m["snippet"].endswith("…") and "\n" not in m["snippet"]
    assert [x["in"] for x in Grep(["weakness"], ignore_case=True).matches(filing)] == [
        "description",
        "item 4.02",
    ]


@pytest.mark.unit
def test_grep_w_takes_whole_words_and_several_patterns_are_alternatives() -> None:
    filing = eightk([("8.01", "A restatement of prior periods. No restated figures.")])
    assert Grep(["restate"]).matches(filing)
    assert not Grep(["restate"], word=True).matches(filing)
    assert Grep(["restated"], word=True).matches(filing)
    both = Grep(["nothing here", "prior periods"])
    assert [m["pattern"] for m in both.matches(filing)] == ["prior periods"]
    assert both(eightk([("8.01", "neither")])) is None
    passed = both(filing)
    assert passed is not None and passed.extra["matches"][0]["in"] == "item 8.01"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("pattern", "problem"),
    [("(unclosed", "is not a regular expression"), ("a*", "matches nothing at all")],
)
def test_a_pattern_that_cannot_work_is_refused(pattern: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Grep([pattern])


@pytest.mark.unit
def test_the_default_output_keeps_the_excerpts_only() -> None:
    filing = eightk([("8.01", "all the words " * 100)])
    lean = without_full_text(filing)
    details = lean.details
    assert isinstance(details, EightK) and isinstance(details.text, Text)
    assert b'"text":"all' not in msgspec.json.encode(details)
    assert details.text.items[0].excerpt == "all the wo"


# -- hostile documents -------------------------------------------------------------------


@pytest.mark.unit
def test_markup_nested_40000_deep_is_an_error_not_an_empty_text() -> None:
    deep = b"<html><body>" + b"<div>" * 40_000 + b"deep" + b"</div>" * 40_000 + b"</body></html>"
    with pytest.raises(textual.TextError, match="nested deeper than 255 levels"):
        textual.plain_text(deep)
    shallow = b"<html><body>" + b"<div>" * 200 + b"shallow" + b"</div>" * 200 + b"</body></html>"
    assert textual.plain_text(shallow)[0] == "shallow"


@pytest.mark.unit
def test_scripts_styles_comments_are_no_words_and_entities_are_decoded() -> None:
    page = (
        b"<html><head><title>T</title><style>p{color:red}</style>"
        b"<script>alert('x')</script></head><body><!-- a comment -->"
        b"<p>Smith &amp; Co&#8217;s&nbsp;results</p><script>evil()</script>"
        b"<noscript>no</noscript></body></html>"
    )
    text, _ = textual.plain_text(page)
    assert text == "Smith & Co\u2019s results"


@pytest.mark.unit
def test_controls_and_bidi_overrides_never_reach_the_text() -> None:
    page = (
        "<html><body><p>A\x1b[2J\x1b]0;owned\x07 B \u202egnp.exe\u202c C\x9b31m D"
        "\u2066x\u2069 &#27;[31m &#x202E;E</p></body></html>"
    ).encode()
    text, _ = textual.plain_text(page)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)
    assert text.startswith("A[2J]0;owned B gnp.exe C31m Dx")
    plain, _ = textual.plain_text(b"plain \x1b[31mtext\x00 \xe2\x80\xae here")
    assert plain == "plain [31mtext here"


@pytest.mark.unit
def test_a_document_longer_than_read_is_cut_and_says_so() -> None:
    page = b"<html><body>" + b"<p>word word word</p>" * 300_000 + b"</body></html>"
    text, cut = textual.plain_text(page)
    assert cut and textual.words(text) < 3 * 300_000
    assert len(text) <= textual.MAX_HTML


@pytest.mark.unit
def test_bytes_that_are_not_utf8_are_read_as_windows_1252() -> None:
    assert textual.plain_text(b"<p>caf\xe9 \x93quoted\x94</p>")[0] == "caf\u00e9 \u201cquoted\u201d"


CIK, ACCESSION = 885245, "0000000000-24-900001"
FOLDER = folder_path(CIK, ACCESSION)


def index_page(*docs: tuple[str, str]) -> bytes:
    lines = [f"<!--\n<ACCESSION-NUMBER>{ACCESSION}\n<TYPE>8-K\n<ITEMS>8.01\n-->\n<PRE>"]
    for n, (kind, name) in enumerate(docs, 1):
        lines.append(
            f"&lt;DOCUMENT&gt;\n&lt;TYPE&gt;{kind}\n&lt;SEQUENCE&gt;{n}\n"
            f"&lt;FILENAME&gt;{name}\n&lt;DESCRIPTION&gt;{kind}\n&lt;TEXT&gt;\n"
        )
    return "".join(lines).encode()


def the_filing() -> Filing:
    return Filing(ACCESSION, "8-K", CIK, "8-K - BUCKLE", "2024-11-22", "a", "b", False)


@pytest.fixture
def sec() -> Iterator[Sec]:
    server = Sec()
    yield server
    server.close()


def read_text(base: str, timeout: float = 30.0) -> Any:
    client = EdgarClient(UA, base_url=base, rate=10, timeout=timeout)
    try:
        details = details_of(the_filing(), client, TextWanted())
    finally:
        client.close()
    assert isinstance(details, EightK) and details.items == ["8.01"]
    return details.text


def test_a_hostile_primary_is_the_texts_error_and_the_items_stand(sec: Sec) -> None:
    sec.routes[index_headers_path(CIK, ACCESSION)] = (200, index_page(("8-K", "deep.htm")))
    deep = b"<html><body>" + b"<b>" * 40_000 + b"x" + b"</b>" * 40_000 + b"</body></html>"
    sec.routes[f"{FOLDER}/deep.htm"] = (200, deep)
    text = read_text(sec.url)
    assert text.status == "error" and "nested deeper than 255 levels" in text.reason


def test_a_missing_primary_is_unavailable_and_a_missing_exhibit_a_problem(sec: Sec) -> None:
    sec.routes[index_headers_path(CIK, ACCESSION)] = (
        200,
        index_page(("8-K", "gone.htm"), ("EX-99.1", "pr.htm")),
    )
    text = read_text(sec.url)
    assert text.status == "unavailable" and "gone.htm is not on EDGAR" in text.reason
    sec.routes[f"{FOLDER}/gone.htm"] = (200, b"<p>Item 8.01 Other Events</p><p>Said.</p>")
    text = read_text(sec.url)
    assert text.status == "ok" and [i.code for i in text.items] == ["8.01"]
    (exhibit,) = text.exhibits
    assert exhibit.type == "EX-99.1" and "pr.htm is not on EDGAR" in exhibit.problem


def test_a_gzip_bomb_is_stopped_at_the_cap(sec: Sec) -> None:
    """64 MiB of zeros in 65 KB of gzip, sent with its header: undone to the cap, no more."""
    bomb = gzip.compress(b"\0" * (64 << 20))
    sec.routes[index_headers_path(CIK, ACCESSION)] = (200, index_page(("8-K", "bomb.htm")))
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
        + str(len(bomb)).encode()
        + b"\r\n\r\n"
        + bomb
    )
    text = text_from(sec, lambda sock: sock.sendall(answer))
    assert text.status == "error" and "once decompressed" in text.reason


def test_a_200_mb_document_is_refused_at_the_cap_not_held(sec: Sec) -> None:
    def endless(sock: socket.socket) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")  # no length: to the end
        block = b"<p>" + b"w " * 32_000 + b"</p>"
        for _ in range(209_715_200 // len(block)):
            sock.sendall(block)

    text = text_from(sec, endless)
    assert text.status == "error" and "sent more than 8 MiB" in text.reason


def test_a_document_that_never_ends_ends_at_the_deadline(sec: Sec) -> None:
    def trickle(sock: socket.socket) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\n\r\n<html><body><p>")
        while True:
            sock.sendall(b"a")
            time.sleep(0.05)  # the peer's pace, not the test's synchronisation

    text = text_from(sec, trickle, timeout=1.0)
    assert (
        text.status == "error" and "did not answer in full within the time allowed" in text.reason
    )


def text_from(sec: Sec, send_primary: Any, timeout: float = 30.0) -> Any:
    """The words read from :func:`raw_edgar`'s EDGAR, its server closed whatever happens."""
    server = raw_edgar(sec, send_primary)
    try:
        return read_text(server.url.replace("ws://", "http://"), timeout=timeout)
    finally:
        server.close()


def raw_edgar(sec: Sec, send_primary: Any) -> RawServer:
    """An EDGAR whose index page is ``sec``'s and whose primary document is whatever
    ``send_primary(sock)`` sends."""
    index = sec.routes.get(index_headers_path(CIK, ACCESSION), (200, index_page(("8-K", "p.htm"))))[
        1
    ]

    def handler(sock: socket.socket, n: int) -> None:
        while True:
            request = read_request(sock)
            path = request.split(b" ", 2)[1].decode()
            if path == index_headers_path(CIK, ACCESSION):
                sock.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: "
                    + str(len(index)).encode()
                    + b"\r\n\r\n"
                    + index
                )
                continue
            send_primary(sock)
            return

    return RawServer(handler)


# -- the CLI: the demo's real 8-Ks ---------------------------------------------------------

#: The demo's 8-Ks with words: accession -> the items the text must give.
DEMO = {
    "0000000000-24-900001": ["2.02", "9.01"],
    "0000000000-23-900002": ["5.02", "7.01", "9.01"],
    "0000000000-23-900003": ["5.07"],
    "0000887919-21-000012": ["8.01", "9.01"],
    "0001104659-03-004925": ["9"],
    "0001193125-19-292676": ["8.01", "9.01"],
}


def test_demo_text_gives_every_8k_its_items_with_their_words_and_nothing_deferred() -> None:
    res = secfeed("demo", "--text", "--backlog-only", "-f", "ndjson", timeout=300)
    assert res.returncode == 0, res.stderr
    records = ndjson(res.stdout)
    assert not [r for r in records if r.get("details", {}).get("status") == "deferred"]
    by_accession = {r["accession_no"]: r for r in records}
    for accession, codes in DEMO.items():
        text = by_accession[accession]["details"]["text"]
        assert text["status"] == "ok", accession
        assert [i["code"] for i in text["items"]] == codes, accession
        assert all(i["words"] > 0 and i["excerpt"] for i in text["items"]), accession
        assert all("text" not in i for i in text["items"])  # excerpts only, by default
    placeholders = [a for a, r in by_accession.items() if r.get("placeholder")]
    assert sorted(placeholders) == sorted(a for a in DEMO if a.startswith("0000000000-"))
    (exhibit,) = by_accession["0000000000-24-900001"]["details"]["text"]["exhibits"]
    assert exhibit["type"] == "EX-99.1" and exhibit["words"] > 1000
    assert max(len(line) for line in res.stdout.splitlines()) < 16_000


def test_demo_grep_passes_the_filings_that_say_it_and_no_other() -> None:
    res = secfeed(
        "demo",
        "--grep",
        "Brandon Hetzel",
        "--grep",
        "Sarbanes-Oxley",
        "--backlog-only",
        "-f",
        "ndjson",
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    records = ndjson(res.stdout)
    assert sorted(r["accession_no"] for r in records) == [
        "0000000000-23-900002",
        "0001104659-03-004925",
    ]
    where = {r["accession_no"]: [m["in"] for m in r["matches"]] for r in records}
    assert where == {"0000000000-23-900002": ["item 5.02"], "0001104659-03-004925": ["item 9"]}
    for record in records:
        for m in record["matches"]:
            start, end = m["at"]
            assert re.fullmatch(m["pattern"], m["snippet"][start:end])
    full = secfeed(
        "demo",
        "--grep",
        "net sales",
        "-i",
        "-w",
        "--text-full",
        "--backlog-only",
        "-f",
        "ndjson",
        timeout=300,
    )
    (buckle,) = ndjson(full.stdout)
    assert buckle["accession_no"] == "0000000000-24-900001"
    assert [m["in"] for m in buckle["matches"]] == ["EX-99.1"]
    assert "Net sales for the 13-week" in " ".join(
        buckle["details"]["text"]["exhibits"][0]["text"].split()
    )


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["-i"], "-i and -w go with --grep"),
        (["--grep", "(x"], "--grep '(x' is not a regular expression"),
    ],
)
def test_text_options_misused_are_a_usage_error(args: list[str], problem: str) -> None:
    res = secfeed("demo", *args, "--backlog-only", "-f", "ndjson", timeout=60)
    assert res.returncode == 2 and problem in res.stderr.decode()
    assert res.stdout == b""


def test_without_the_text_extra_text_is_a_usage_error_that_says_how_to_add_it(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "class _Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('inscriptis', 'lxml'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, _Hide())\n"
    )
    res = subprocess.run(
        [sys.executable, "-m", "secfeed_cli", "demo", "--text", "--backlog-only"],
        capture_output=True,
        env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)},
        timeout=60,
    )
    assert res.returncode == 2
    assert "--text and --grep need the text extra: pip install 'secfeed-cli[text]'" in (
        res.stderr.decode()
    )


# -- the archive keeps the words and finds filings by them ---------------------------------


def test_the_archive_keeps_the_words_compressed_and_search_finds_a_phrase_inside(
    tmp_path: Path,
) -> None:
    import sqlite3
    import zlib

    path = tmp_path / "filings.db"
    res = secfeed(
        "demo", "--text", "--backlog-only", "-f", "ndjson", "--archive", str(path), timeout=300
    )
    assert res.returncode == 0, res.stderr
    found = ndjson(secfeed("archive", "search", str(path), "Brandon Hetzel").stdout)
    assert [r["accession_no"] for r in found] == ["0000000000-23-900002"]
    inside = ndjson(secfeed("archive", "search", str(path), "13-week fiscal quarter").stdout)
    assert [r["accession_no"] for r in inside] == ["0000000000-24-900001"]  # its EX-99.1
    none = secfeed("archive", "search", str(path), "Brandon Hetzel", "zzzqqq")
    assert none.returncode == 1 and none.stdout == b""
    db = sqlite3.connect(path)
    try:
        parts = db.execute(
            "SELECT part, words, body FROM texts WHERE accession_no = ? ORDER BY rowid",
            ("0000000000-23-900002",),
        ).fetchall()
        document = db.execute(
            "SELECT document FROM details WHERE accession_no = ?", ("0000000000-23-900002",)
        ).fetchone()[0]
    finally:
        db.close()
    assert [p for p, _, _ in parts] == ["item 5.02", "item 7.01", "item 9.01"]
    whole = zlib.decompress(parts[0][2]).decode()
    assert "Appointment of Brandon Hetzel" in whole and parts[0][1] == len(whole.split())
    kept = json.loads(document)["text"]  # the details document keeps the excerpts only
    assert kept["items"][0]["excerpt"] and all("text" not in i for i in kept["items"])


def test_an_archive_of_version_1_is_searched_as_it_is_and_migrated_by_a_writer(
    tmp_path: Path,
) -> None:
    import sqlite3

    from secfeed_cli.archive import schema

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    for statement in schema.CREATE:
        if statement not in schema.TEXTS:
            db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    res = secfeed("archive", "search", str(path), "anything")
    assert res.returncode == 1 and b"Traceback" not in res.stderr and res.stdout == b""
    res = secfeed(
        "demo",
        "--grep",
        "Brandon Hetzel",
        "--backlog-only",
        "-f",
        "ndjson",
        "--archive",
        str(path),
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    found = ndjson(secfeed("archive", "search", str(path), "Brandon Hetzel").stdout)
    assert [r["accession_no"] for r in found] == ["0000000000-23-900002"]
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION == 2
    finally:
        db.close()


# -- details that keep up: a live filing goes before the backlog -------------------------


def test_a_live_filings_request_goes_out_before_the_backlog_queued_ahead_of_it() -> None:
    """Thirty backlog Forms 4 queued at 2 requests a second, then a live one: its request
    is the next to reach EDGAR, not behind the slots the backlog's workers hold (a worker of
    its own, and the pace gives a live request the next free slot). Order, not time."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from secfeed_cli.details.edgar import submission_path
    from secfeed_cli.details.stage import Enricher

    arrived: list[str] = []
    changed = threading.Condition()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            with changed:
                arrived.append(self.path)
                changed.notify_all()
            body = b"not a form 4"  # an error at once: one request a filing, no retry
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def form4(n: int, historical: bool) -> Filing:
        return Filing(
            f"0001127602-25-{n:06d}", "4", 1750, "4 - AAR", "2025-01-01", "a", "b", historical
        )

    client = EdgarClient(UA, base_url=f"http://127.0.0.1:{server.server_address[1]}", rate=2)
    stage = Enricher(client, wait=600)
    try:
        stage.add([form4(n, True) for n in range(1, 31)], 0.0)
        with changed:
            assert changed.wait_for(lambda: len(arrived) >= 3, timeout=90)
        stage.add([form4(99, False)], 0.0)
        with changed:
            before = len(arrived)  # the backlog's requests out before, or already under way
        live = submission_path(1750, "0001127602-25-000099")
        with changed:
            assert changed.wait_for(lambda: live in arrived, timeout=90)
            at = arrived.index(live)
        # At most the one backlog request that held the current slot comes between.
        assert at <= before + 1, (before, at, len(arrived))
    finally:
        stage.close()
        server.shutdown()
        server.server_close()


# -- where --grep's matches go: the table, hooks, notifications ----------------------------


def matched() -> Filing:
    filing = Grep(["Chief Financial Officer"])(
        eightk([("5.02", "The Board appointed Jane Roe as Chief Financial Officer today.")])
    )
    assert filing is not None
    return filing


@pytest.mark.unit
def test_the_tables_details_cell_shows_the_match_marked() -> None:
    from secfeed_cli.output.layout import layout, row

    filing = matched()
    columns = layout(160, latency=False, details=True)
    plain = row(filing, columns, "", color=False)
    assert "Chief Financial" in plain and "\x1b" not in plain
    colored = row(filing, columns, "", color=True)
    assert "as \x1b[7mChief Financial Officer\x1b[27m t…" in colored  # 4 characters before it
    longer = Grep(["appointed Jane Roe as Chief Financial Officer"])(filing)
    assert longer is not None
    cut = row(longer, columns, "", color=True)  # as much of it as the 30-wide cell shows
    assert "ard \x1b[7mappointed Jane Roe as Chi\x1b[27m…" in cut


@pytest.mark.unit
def test_hooks_and_notifications_carry_the_first_match() -> None:
    from secfeed_cli.alerts.hooks import environment
    from secfeed_cli.alerts.notify import message

    filing = matched()
    env = environment(filing)
    assert env["SECFEED_MATCH"] == (
        "item 5.02: The Board appointed Jane Roe as Chief Financial Officer today."
    )
    assert "SECFEED_MATCH" not in environment(eightk([("5.02", "x")]))
    _, body = message([filing])
    assert "item 5.02: The Board appointed Jane Roe as Chief Financial Officer today." in body
    _, many = message([filing, filing])
    assert many.count("Chief Financial Officer") == 2


@pytest.mark.unit
def test_a_filing_let_out_deferred_is_told_late_with_its_details() -> None:
    import threading

    from secfeed_cli.details.stage import Enricher

    gate = threading.Event()

    def fetch(f: Filing, client: EdgarClient) -> Any:
        gate.wait(60)
        return EightK(items=["8.01"], summary="8.01 other events")

    told: list[Filing] = []
    arrived = threading.Event()
    stage = Enricher(EdgarClient(UA, base_url="http://127.0.0.1:9"), wait=0.0, fetch=fetch)

    def tell(filing: Filing) -> None:
        told.append(filing)
        arrived.set()

    stage.late = tell
    try:
        stage.add([the_filing()], 0.0)
        (out,) = stage.ready()  # at once: its wait is 0
        assert out[0].details_status == "deferred" and not told
        gate.set()
        assert arrived.wait(60)
        (late,) = told
        assert late.accession_no == ACCESSION and late.details_status == "ok"
    finally:
        gate.set()
        stage.close()


# -- 6-K: a foreign issuer's report, whose words are its exhibits' -------------------------


def test_a_6k_gives_its_exhibits_words_and_a_summary_of_them(sec: Sec) -> None:
    """No 6-K is in the project's data: the documents here are the test's own, minimal."""
    from secfeed_cli.wire.details import Report

    cik, accession = 1000001, "0001000001-24-000001"
    folder = folder_path(cik, accession)
    page = index_page(("6-K", "cover.htm"), ("EX-99.1", "release.htm")).replace(
        ACCESSION.encode(), accession.encode()
    )
    sec.routes[index_headers_path(cik, accession)] = (200, page)
    sec.routes[f"{folder}/cover.htm"] = (200, b"<p>FORM 6-K</p><p>SIGNATURES</p>")
    sec.routes[f"{folder}/release.htm"] = (200, b"<p>Quarterly revenue rose 12%.</p>")
    filing = Filing(accession, "6-K", cik, "6-K - FOREIGN CO", "2024-01-01", "a", "b", False)
    client = EdgarClient(UA, base_url=sec.url, rate=10)
    try:
        details = details_of(filing, client, TextWanted())
        without = details_of(filing, client)  # --details alone: a 6-K has none
    finally:
        client.close()
    assert isinstance(details, Report) and isinstance(details.text, Text)
    assert details.text.items == [] and details.summary == "EX-99.1"
    (exhibit,) = details.text.exhibits
    assert exhibit.excerpt == "Quarterly revenue rose 12%." and exhibit.words == 4
    assert without.status == "unavailable"
    passed = Grep(["revenue rose"])(replace_details(filing, details))
    assert passed is not None and passed.extra["matches"][0]["in"] == "EX-99.1"
    encoded = msgspec.json.encode(details)
    from secfeed_cli.wire.details import read

    assert isinstance(read(msgspec.json.decode(encoded)), Report)  # read back as a 6-K's


def replace_details(filing: Filing, details: Any) -> Filing:
    from msgspec.structs import replace

    return replace(filing, extra={"details": details})


# -- --backfill fetches words only when asked --------------------------------------------


@pytest.mark.parametrize("words", [False, True])
def test_backfill_reads_the_words_of_the_gaps_8ks_only_when_asked(
    sec: Sec, tmp_path: Path, words: bool
) -> None:
    import sqlite3

    from secfeed_cli.archive.backfill import ATOM
    from secfeed_cli.archive.writer import ArchiveWriter
    from secfeed_cli.common.diagnostics import Diagnostics
    from secfeed_cli.emulator.edgar import documents, latest_filings_page

    records, served = documents()
    (buckle,) = [r for r in records if r["accession_no"] == "0000000000-24-900001"]
    sec.routes.update({path: (200, body) for path, body in served.items()})
    when = "2026-01-12T16:00:00Z"  # in the gap below
    sec.routes[ATOM.format(start=0)] = (200, latest_filings_page([(buckle, when)], 0))
    client = EdgarClient(UA, base_url=sec.url, rate=10)
    path = tmp_path / "filings.db"
    writer = ArchiveWriter(str(path))
    try:
        writer.fill_gap(
            client, "2026-01-12T15:00:00Z", "2026-01-12T17:00:00Z", Diagnostics(), words
        )
        assert writer._filling is not None
        writer._filling.join(60)
    finally:
        writer.close()
        client.close()
    db = sqlite3.connect(path)
    try:
        kept = db.execute("SELECT accession_no FROM filings").fetchall()
        parts = db.execute("SELECT part FROM texts ORDER BY rowid").fetchall()
    finally:
        db.close()
    assert kept == [("0000000000-24-900001",)]
    asked = [p for p, _, _ in sec.seen if "/Archives/edgar/data/885245/" in p]
    if words:
        assert [p for (p,) in parts] == ["item 2.02", "item 9.01", "EX-99.1"]
        assert len(asked) == 3  # the index page, the primary document, the press release
    else:
        assert parts == [] and asked == []
