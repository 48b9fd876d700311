"""Filing details from real EDGAR documents (secfeed_cli/details): golden JSON for each sample
in tests/data/edgar/, hand-checked facts for a few, and hostile or broken XML."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from msgspec.structs import replace

from secfeed_cli.details.criteria import DetailFilter, parse_sic
from secfeed_cli.details.eightk import parse_8k
from secfeed_cli.details.ownership import MAX_XML, brief, ownership_xml, parse_ownership, parse_xml
from secfeed_cli.details.schedule13 import parse_schedule13
from secfeed_cli.details.sgml import DetailsError, parse_header
from secfeed_cli.wire.details import (
    Details,
    EightK,
    Issuer,
    NoDetails,
    Owner,
    Ownership,
    Row,
    Schedule13,
)
from secfeed_cli.wire.filing import Filing

from .edgar_docs import GOLDEN, document, samples

pytestmark = pytest.mark.unit

SAMPLES = samples()


def typed_details(name: str) -> Details:
    """What secfeed makes of one sample: its details, or the error it reports."""
    text = document(name).read_text(encoding="utf-8", errors="replace")
    try:
        if name.startswith("8k"):
            return parse_8k(text)
        if name.startswith("sc13"):
            xml = ownership_xml(text) if name.endswith(".txt") else text
            return parse_schedule13(xml)
        if name.endswith(".txt"):
            header = parse_header(text, party="ISSUER")
            return parse_ownership(ownership_xml(text), header)
        return parse_ownership(text)
    except DetailsError as exc:
        return NoDetails(status="error", reason=str(exc))


def details_of(name: str) -> dict[str, Any]:
    """:func:`typed_details` as its JSON has it."""
    built: dict[str, Any] = msgspec.to_builtins(typed_details(name))
    return built


@pytest.mark.parametrize("name", SAMPLES)
def test_every_sample_matches_its_golden_details(name: str) -> None:
    golden = json.loads((GOLDEN / f"{name}.json").read_text())
    assert details_of(name) == golden


def test_a_sale_as_its_document_has_it() -> None:
    # form4-full-S-officer-aar: checked by hand against the XML (one sale, footnote F1)
    d = details_of("form4-full-S-officer-aar-0001127602-25-001055.txt")
    assert d["issuer"] == {"cik": 1750, "name": "AAR CORP", "ticker": "AIR", "sic": "3720"}
    assert d["owners"] == [
        {
            "cik": 1806647,
            "name": "Garascia Jessica A.",
            "roles": ["officer"],
            "title": "Senior VP, GC, CAO & Secretary",
        }
    ]
    [row] = d["transactions"]
    assert row["code"] == "S" and row["shares"] == 1500 and row["price"] == 66.903
    assert row["acquired_disposed"] == "D" and row["shares_after"] == 37565
    assert row["direct_indirect"] == "D" and row["footnotes"] == ["F1"]
    assert d["rule_10b5_1"] is False
    assert d["summary"] == "S 1,500 @ $66.90 = $100,355 · Senior VP, GC, CAO & Secretary"


def test_booleans_as_true_and_false_and_an_award_without_a_price() -> None:
    d = details_of("form4-grant-A-374water-X0508-boolean-true-false.xml")
    assert d["owners"][0]["roles"] == ["officer"] and d["rule_10b5_1"] is False
    assert d["transactions"][0]["code"] == "A" and d["transactions"][0]["shares"] == 757756
    assert d["summary"] == "A 757,756 · Chief Technology Officer"


def test_an_exercise_in_both_tables_is_summarised_from_one() -> None:
    d = details_of("form4-full-submission-exercise-M-sale-S-0001610717-23-000035.txt")
    tables = [(r["table"], r["code"], r["shares"]) for r in d["transactions"]]
    assert ("derivative", "M", 200000) in tables and ("non_derivative", "M", 200000) in tables
    assert d["summary"].startswith("M 200,000 @ $1.16 = $232,000, S 33,000 @ $52.82")


def test_eight_owners_a_conversion_and_no_price() -> None:
    d = details_of("form4-full-submission-8-owners-conversion-C-no-price-0001493152-25-009612.txt")
    assert len(d["owners"]) == 8
    assert d["transactions"][0]["price"] is None
    assert d["summary"] == "C 628,553 · 10% owner +7 owners"


def test_8k_items_from_the_index_headers_and_from_a_full_submission() -> None:
    d = details_of("8k-index-headers-0000905729-24-000095-item-5.07.html")
    assert d["items"] == ["5.07"] and d["sic"] == "6022"
    assert d["item_names"] == ["Submission of Matters to a Vote of Security Holders"]
    assert d["summary"] == "5.07 shareholder vote"
    two = details_of("8k-index-headers-0001193125-24-152391-items-7.01-9.01.html")
    assert two["items"] == ["7.01", "9.01"] and two["summary"] == "7.01 Reg FD"
    # The text header names the item with a colon where the form has a semicolon.
    full = details_of("8k-full-item-5.02-1800flowers-0001437749-25-013070.txt")
    assert full["items"] == ["5.02"] and full["summary"] == "5.02 officer change"


def test_a_form_4_header_gives_the_issuers_sic_not_the_owners() -> None:
    # The SGML header alone: the reporting owner first, then the issuer (UFP Technologies).
    text = document("form4-hdr-sgml-0001062993-24-012217.txt").read_text()
    assert parse_header(text, party="ISSUER").sic == "3841"


def test_malformed_and_old_documents_are_errors_with_a_reason() -> None:
    bad = details_of("form4-full-MALFORMED-split-end-tag-2006-M-D-phantom-0001225259-06-000003.txt")
    assert bad == {"status": "error", "reason": bad["reason"]}
    assert bad["reason"].startswith("malformed XML: ")
    old = details_of("form4-full-2000-pre-xml-text-form-0001094891-00-000193.txt")
    assert old["status"] == "error" and "no XML in the submission" in old["reason"]


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        "<ownershipDocument>&lol2;</ownershipDocument>",
        '<!DOCTYPE x SYSTEM "file:///etc/passwd"><ownershipDocument/>',
        "<ownershipDocument>" + "<x>" * 10 + "</ownershipDocument>",
        "<notOwnership/>",
    ],
)
def test_hostile_or_foreign_xml_is_refused_before_it_costs_anything(xml: str) -> None:
    with pytest.raises(DetailsError):
        parse_ownership(xml)


def test_an_oversized_document_is_not_parsed() -> None:
    with pytest.raises(DetailsError, match="over"):
        parse_xml("<ownershipDocument>" + " " * MAX_XML + "</ownershipDocument>")


def test_the_tables_brief_form() -> None:
    from secfeed_cli.details.ownership import brief

    def ownership(name: str) -> Ownership:
        found = typed_details(name)
        assert isinstance(found, Ownership)
        return found

    assert brief(ownership("form4-full-S-officer-aar-0001127602-25-001055.txt")) == (
        "S $100.4K Off"
    )
    group = ownership("form4-full-submission-purchase-P-10pct-group-0000921895-25-001190.txt")
    assert brief(group) == "P $912.7K 10% +2"
    grant = ownership("form4-grant-A-374water-X0508-boolean-true-false.xml")
    assert brief(grant) == "A 757.8K sh Off"


def test_a_schedule_13g_as_its_document_has_it() -> None:
    # sc13g-xml-citadel-spirit: checked by hand against the XML (seven joint filers)
    d = details_of("sc13g-xml-citadel-spirit-0001104659-25-045128.xml")
    assert d["issuer"] == {
        "cik": 1498710,
        "name": "Spirit Aviation Holdings, Inc.",
        "cusip": "84863V101",
    }
    assert d["event_date"] == "2025-04-29" and len(d["persons"]) == 7
    first = d["persons"][0]
    assert first["name"] == "Citadel Advisors LLC" and first["amount"] == 1624818
    assert first["percent"] == 9.9 and first["types"] == ["IA", "HC", "OO"]
    assert d["summary"] == "9.9% of Spirit Aviation Holdings, Inc. · Citadel Advisors LLC +6"


def _xml_rows(xml: str) -> list[tuple[str, str | None, str | None, str | None]]:
    """Each transaction of an ownership XML, read a second way (regular expressions, not the
    parser): its table, code, shares and price as written, in document order."""
    import re

    rows = []
    for table, tag in (("non_derivative", "nonDerivative"), ("derivative", "derivative")):
        for body in re.findall(rf"<{tag}Transaction>(.*?)</{tag}Transaction>", xml, re.S):

            def value(name: str, body: str = body) -> str | None:
                found = re.search(rf"<{name}>\s*(?:<value>\s*([^<]*?)\s*</value>)?", body, re.S)
                return found.group(1) if found and found.group(1) else None

            code = re.search(r"<transactionCode>\s*([^<]*?)\s*</transactionCode>", body)
            rows.append(
                (
                    table,
                    code.group(1) if code else None,
                    value("transactionShares"),
                    value("transactionPricePerShare"),
                )
            )
    order = {"non_derivative": 0, "derivative": 1}
    return sorted(rows, key=lambda r: order[r[0]])


def _readable(prefix: str) -> list[str]:
    """The samples of these forms whose details are ok (the golden files say which)."""
    return [
        n
        for n in SAMPLES
        if n.startswith(prefix) and json.loads((GOLDEN / f"{n}.json").read_text())["status"] == "ok"
    ]


@pytest.mark.parametrize("name", _readable("form"))
def test_every_transaction_matches_a_second_reading_of_its_document(name: str) -> None:
    """Every ownership sample, cross-checked: the parser's transactions against the same
    document read with regular expressions (table, code, shares, price, in order)."""
    text = document(name).read_text(encoding="utf-8", errors="replace")
    details = details_of(name)
    xml = ownership_xml(text) if name.endswith(".txt") else text
    parsed = [(r["table"], r["code"], r["shares"], r["price"]) for r in details["transactions"]]

    def number(text: str | None) -> float | None:
        return None if text is None else float(text.replace(",", ""))

    expected = [(t, c, number(s), number(p)) for t, c, s, p in _xml_rows(xml)]
    assert [(t, c) for t, c, _, _ in parsed] == [(t, c) for t, c, _, _ in expected]
    for (_, _, shares, price), (_, _, want_shares, want_price) in zip(
        parsed, expected, strict=True
    ):
        assert shares == want_shares and price == want_price, (shares, price)


@pytest.mark.parametrize("name", _readable("sc13"))
def test_every_stake_matches_a_second_reading_of_its_document(name: str) -> None:
    """Every Schedule 13D/G sample: each person's percent of the class, as written."""
    import re

    details = details_of(name)
    text = document(name).read_text(encoding="utf-8", errors="replace")
    people = re.findall(
        r"<(reportingPersonInfo|coverPageHeaderReportingPersonDetails)>(.*?)</\1>", text, re.S
    )
    written = [
        re.search(r"<(?:percentOfClass|classPercent)>\s*([^<]*?)\s*</", body) for _, body in people
    ]
    assert [p["percent"] for p in details["persons"]] == [
        float(w.group(1)) if w else None for w in written
    ]


@pytest.mark.parametrize("name", _readable("form"))
def test_every_owner_footnote_and_holding_matches_a_second_reading(name: str) -> None:
    """Every readable Form 3/4/5 sample: its owners (CIK, name, the four role boxes, title),
    its footnote ids and its number of holdings, read again with regular expressions."""
    import re

    details = details_of(name)
    text = document(name).read_text(encoding="utf-8", errors="replace")
    xml = ownership_xml(text) if name.endswith(".txt") else text

    def field(body: str, tag: str) -> str | None:
        found = re.search(rf"<{tag}>\s*([^<]*?)\s*</{tag}>", body)
        return " ".join(found.group(1).split()) if found and found.group(1).strip() else None

    owners = []
    for body in re.findall(r"<reportingOwner>(.*?)</reportingOwner>", xml, re.S):
        boxes = {
            "director": "isDirector",
            "officer": "isOfficer",
            "ten_percent_owner": "isTenPercentOwner",
            "other": "isOther",
        }
        roles = [
            role for role, tag in boxes.items() if (field(body, tag) or "").lower() in ("1", "true")
        ]
        cik = field(body, "rptOwnerCik")
        name_ = field(body, "rptOwnerName")
        owners.append(
            {
                "cik": int(cik) if cik else None,
                "name": name_.replace("&amp;", "&") if name_ else None,
                "roles": roles,
                "title": (field(body, "officerTitle") or field(body, "otherText") or "").replace(
                    "&amp;", "&"
                )
                or None,
            }
        )
    assert details["owners"] == owners
    ids = sorted(set(re.findall(r'<footnote id="(F\d+)"', xml)))
    assert sorted(details["footnotes"]) == ids
    holdings = len(re.findall(r"<(?:nonDerivative|derivative)Holding>", xml))
    assert len(details["holdings"]) == holdings


@pytest.mark.parametrize("name", _readable("form"))
def test_every_issuer_matches_a_second_reading(name: str) -> None:
    """The issuer's CIK, name and ticker from the XML, its SIC from the SEC header's issuer."""
    import re

    details = details_of(name)
    text = document(name).read_text(encoding="utf-8", errors="replace")

    def field(tag: str) -> str | None:
        found = re.search(rf"<{tag}>\s*([^<]*?)\s*</{tag}>", text)
        return " ".join(found.group(1).split()).replace("&amp;", "&") if found else None

    issuer = details["issuer"]
    assert issuer["cik"] == int(field("issuerCik") or 0)
    assert issuer["name"] == field("issuerName")
    symbol = field("issuerTradingSymbol")
    plain = None if symbol is None or symbol.upper() in ("NONE", "N/A", "NA", "") else symbol
    assert issuer["ticker"] == plain
    start = re.search(r"^\s*ISSUER:", text, re.M)
    end = (
        re.search(r"^\s*REPORTING-OWNER:|<DOCUMENT>", text[start.end() :], re.M) if start else None
    )
    part = "" if start is None else text[start.end() : start.end() + (end.start() if end else 0)]
    sic = re.search(r"\[(\d{4})\]", part)
    assert issuer["sic"] == (sic.group(1) if sic else None)


@pytest.mark.parametrize("name", _readable("sc13"))
def test_every_person_and_amount_matches_a_second_reading(name: str) -> None:
    import re

    details = details_of(name)
    text = document(name).read_text(encoding="utf-8", errors="replace")
    people = re.findall(
        r"<(reportingPersonInfo|coverPageHeaderReportingPersonDetails)>(.*?)</\1>", text, re.S
    )
    names = [re.search(r"<reportingPersonName>\s*([^<]*?)\s*<", b) for _, b in people]
    amounts = [
        re.search(
            r"<(?:aggregateAmountOwned|reportingPersonBeneficiallyOwnedAggregateNumberOfShares)>"
            r"\s*([^<]*?)\s*<",
            b,
        )
        for _, b in people
    ]
    assert [p["name"] for p in details["persons"]] == [
        " ".join(n.group(1).split()).replace("&amp;", "&") if n else None for n in names
    ]
    assert [p["amount"] for p in details["persons"]] == [
        float(a.group(1)) if a else None for a in amounts
    ]


@pytest.mark.parametrize("name", _readable("8k"))
def test_every_8k_item_matches_a_second_reading(name: str) -> None:
    """Tagged codes where the header has them; else the text header's item names."""
    import re

    from secfeed_cli.details.eightk import ITEMS

    details = details_of(name)
    text = document(name).read_text(encoding="utf-8", errors="replace")
    tagged = re.findall(r"^<ITEMS>(\d+\.\d+)\s*$", text, re.M)
    if tagged:
        assert details["items"] == tagged
        return
    head = text[: text.find("</SEC-HEADER>")]
    named = re.findall(r"^ITEM INFORMATION:[ \t]*([^\r\n]*?)[ \t]*$", head, re.M)

    def squash(s: str) -> str:
        return " ".join(re.sub(r"[^a-z0-9]+", " ", s.lower()).split())

    codes = {squash(n): c for c, (n, _) in ITEMS.items()}
    assert details["items"] == [codes[squash(n)] for n in named if squash(n) in codes]


@pytest.mark.unit
def test_an_8k_of_2005_names_its_item_by_the_title_of_the_time() -> None:
    """0000950137-05-004969 (not among our copies) names 5.02 as SEC's list did from 2004 to
    2006. The header below is written here, in the text header's form, around that title."""
    from secfeed_cli.details.eightk import FORMER_NAMES, parse_8k

    head = (
        "<SEC-HEADER>0000950137-05-004969.hdr.sgml : 20050421\n"
        "CONFORMED SUBMISSION TYPE:\t8-K\n"
        "ITEM INFORMATION:\t\tDeparture of Directors or Principal Officers; Election of"
        " Directors; Appointment of Principal Officers\n"
        "ITEM INFORMATION:\t\tFinancial Statements and Exhibits\n"
        "</SEC-HEADER>\n"
    )
    details = parse_8k(head)
    assert details.items == ["5.02", "9.01"]
    assert details.summary == "5.02 officer change"
    assert set(FORMER_NAMES) <= {"5.02", "5.05"}


def test_the_json_keeps_its_keys_in_the_schemas_order() -> None:
    """Typed structs encode their fields in declaration order: the order the JSON had when
    the parsers built dicts (checked byte for byte on every sample when they became structs)."""

    def keys(name: str) -> list[str]:
        return list(json.loads(msgspec.json.encode(typed_details(name))))

    assert keys("form4-full-S-officer-aar-0001127602-25-001055.txt") == [
        "status", "form", "period", "issuer", "owners", "transactions", "holdings",
        "footnotes", "rule_10b5_1", "remarks", "summary",
    ]  # fmt: skip
    assert keys("8k-index-headers-0000905729-24-000095-item-5.07.html") == [
        "status", "items", "item_names", "sic", "period", "summary",
    ]  # fmt: skip
    assert keys("sc13g-xml-citadel-spirit-0001104659-25-045128.xml") == [
        "status", "form", "issuer", "security", "event_date", "persons", "summary",
    ]  # fmt: skip
    form4 = json.loads(
        msgspec.json.encode(
            typed_details("form4-exercise-M-and-sales-S-snowflake-footnotes-derivative.xml")
        )
    )
    transaction = next(r for r in form4["transactions"] if r["table"] == "non_derivative")
    assert list(transaction) == [
        "table", "security", "date", "code", "shares", "value", "price", "acquired_disposed",
        "shares_after", "value_after", "direct_indirect", "nature", "footnotes",
    ]  # fmt: skip
    derivative = next(r for r in form4["transactions"] if r["table"] == "derivative")
    assert list(derivative)[-6:] == [
        "exercise_price", "exercisable", "expires", "underlying", "underlying_shares",
        "footnotes",
    ]  # fmt: skip
    held = typed_details(
        "form3-xml-38-holdings-23-footnotes-thiel-palantir-0001209191-20-051619.xml"
    )
    assert isinstance(held, Ownership) and "date" not in msgspec.to_builtins(held.holdings[0])


def test_a_number_keeps_the_type_its_document_gives_it() -> None:
    """``1500`` is an int and ``66.903`` a float in the JSON, as the document writes them (the
    golden files compare 1500 == 1500.0 as equal: this tells them apart)."""
    found = typed_details("form4-full-S-officer-aar-0001127602-25-001055.txt")
    assert isinstance(found, Ownership)
    [row] = found.transactions
    assert type(row.shares) is int and row.shares == 1500
    assert type(row.price) is float and row.price == 66.903
    assert type(row.shares_after) is int
    assert b'"shares":1500,' in msgspec.json.encode(row)


# -- the parts, each on a document written for it ------------------------------------------


def _form4(body: str) -> str:
    return f"<ownershipDocument><documentType>4</documentType>{body}</ownershipDocument>"


def _sale(code: str, shares: str, price: str | None, table: str = "nonDerivative") -> str:
    priced = f"<transactionPricePerShare><value>{price}</value></transactionPricePerShare>"
    return (
        f"<{table}Table><{table}Transaction><securityTitle><value>Common</value></securityTitle>"
        f"<transactionCoding><transactionCode>{code}</transactionCode></transactionCoding>"
        f"<transactionAmounts><transactionShares><value>{shares}</value></transactionShares>"
        + (priced if price is not None else "")
        + f"</transactionAmounts></{table}Transaction></{table}Table>"
    )


def _owner(name: str, *roles: str, title: str | None = None) -> str:
    flags = "".join(f"<{role}>1</{role}>" for role in roles)
    officer = f"<officerTitle>{title}</officerTitle>" if title else ""
    return (
        f"<reportingOwner><reportingOwnerId><rptOwnerCik>0000000042</rptOwnerCik>"
        f"<rptOwnerName>{name}</rptOwnerName></reportingOwnerId>"
        f"<reportingOwnerRelationship>{flags}{officer}</reportingOwnerRelationship>"
        "</reportingOwner>"
    )


def test_a_document_with_nothing_but_its_type_has_every_field_empty() -> None:
    found = parse_ownership(_form4(""))
    assert found.form == "4" and found.period is None and found.remarks is None
    assert found.issuer == Issuer() and found.owners == [] and found.transactions == []
    assert found.holdings == [] and found.footnotes == {} and found.rule_10b5_1 is None
    assert found.summary == "no securities reported"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1,500", 1500),
        ("$66.90", 66.9),
        ("1500.0", 1500.0),
        ("-3", -3),
        ("abc", None),
        ("nan", None),
        ("", None),
    ],
)
def test_a_number_is_read_as_its_document_writes_it(text: str, number: float | None) -> None:
    [row] = parse_ownership(_form4(_sale("P", text, None))).transactions
    assert row.shares == number and type(row.shares) is type(number)


@pytest.mark.parametrize("text", ["1" * 41, "1e16", "-1e16"])
def test_a_number_no_filing_has_refuses_the_document(text: str) -> None:
    with pytest.raises(DetailsError):
        parse_ownership(_form4(_sale("P", text, None)))


def test_flags_and_a_ticker_of_none_are_read_as_filers_write_them() -> None:
    for text, flag in (("1", True), ("true", True), ("Y", True), ("yes", True), ("0", False)):
        found = parse_ownership(_form4(f"<aff10b5One>{text}</aff10b5One>"))
        assert found.rule_10b5_1 is flag, text
    for symbol in ("NONE", "n/a", "NA"):
        issuer = f"<issuer><issuerTradingSymbol>{symbol}</issuerTradingSymbol></issuer>"
        assert parse_ownership(_form4(issuer)).issuer.ticker is None
    issuer = "<issuer><issuerCik>0000320193</issuerCik><issuerTradingSymbol>AAPL"
    apple = parse_ownership(_form4(issuer + "</issuerTradingSymbol></issuer>")).issuer
    assert (apple.cik, apple.ticker) == (320193, "AAPL")


def test_the_summary_and_the_brief_cell_of_trades_by_code() -> None:
    officer = _owner("Doe Jane", "isOfficer", title="CFO")
    sale = parse_ownership(_form4(officer + _sale("S", "1,000", "10.50")))
    assert sale.summary == "S 1,000 @ $10.50 = $10,500 · CFO"
    assert brief(sale) == "S $10.5K Off"
    two = _owner("A", "isDirector") + _owner("B", "isTenPercentOwner")
    unpriced = parse_ownership(_form4(two + _sale("A", "2,500,000", None)))
    assert unpriced.summary == "A 2,500,000 · Director +1 owners"
    assert brief(unpriced) == "A 2.5M sh Dir +1"
    held = "<nonDerivativeTable><nonDerivativeHolding><securityTitle><value>C</value>"
    only = parse_ownership(
        _form4(held + "</securityTitle></nonDerivativeHolding></nonDerivativeTable>")
    )
    assert only.summary == "holdings only (1)" and brief(only) == "holdings"
    codes = "".join(
        _sale(c, "1", "1").replace("<nonDerivativeTable>", "").replace("</nonDerivativeTable>", "")
        for c in "ABCDEF"
    )
    many = parse_ownership(_form4(f"<nonDerivativeTable>{codes}</nonDerivativeTable>"))
    assert many.summary.endswith(" +2 more") and many.summary.count("@") == 4
    assert brief(many) == "A $1 B $1 C $1"


def test_the_derivative_table_speaks_only_when_the_other_is_empty() -> None:
    both = parse_ownership(_form4(_sale("M", "10", "1") + _sale("M", "10", "0", "derivative")))
    assert both.summary == "M 10 @ $1.00 = $10"  # the exercise once, from the first table
    alone = parse_ownership(_form4(_sale("A", "5", None, "derivative")))
    assert alone.summary == "A 5" and alone.transactions[0].table == "derivative"


def test_a_schedule_13_date_and_its_largest_stake() -> None:
    from secfeed_cli.details.schedule13 import _date

    assert _date("03/04/2025") == "2025-03-04" and _date("2025-03-04") == "2025-03-04"
    assert _date("3/4/25") == "3/4/25" and _date(None) is None


# -- the filters that wait for details (criteria.py) --------------------------------------


def _with(details: Details | None, form: str = "4") -> Filing:
    filing = Filing("0000000001-26-000001", form, 1, "", "2026-01-05", "", "", False)
    return filing if details is None else replace(filing, extra={"details": details})


def _trades(*rows: tuple[str, float, float | None], sic: str | None = "2834") -> Ownership:
    made = [
        Row(table="non_derivative", code=code, shares=shares, price=price)
        for code, shares, price in rows
    ]
    derivative = Row(table="derivative", code="M", shares=1e6, price=1.0)
    return Ownership(issuer=Issuer(sic=sic), transactions=[*made, derivative])


def test_no_filter_that_waits_for_details_is_active_unless_given() -> None:
    assert not DetailFilter().active
    assert DetailFilter(items=frozenset({"5.02"})).active
    assert DetailFilter(codes=frozenset({"P"})).active
    assert DetailFilter(sics=("28",)).active
    assert DetailFilter(min_value=0.0).active  # zero is a value given
    assert hash(DetailFilter()) == hash(DetailFilter())  # frozen: one per run, shared


def test_a_filing_without_details_passes_no_filter_that_waits_for_them() -> None:
    wanted = DetailFilter(codes=frozenset({"P"}))
    assert wanted.passes(_with(None)) is False
    assert wanted.passes(_with(NoDetails(status="deferred", reason="not in"))) is False
    assert DetailFilter().passes(_with(_trades()))  # none given: every one with details


def test_items_pass_8ks_with_any_of_them_and_nothing_else() -> None:
    wanted = DetailFilter(items=frozenset({"5.02", "1.05"}))
    assert wanted.passes(_with(EightK(items=["1.05", "9.01"]), "8-K")) is True
    assert wanted.passes(_with(EightK(items=["7.01"]), "8-K")) is False
    assert wanted.passes(_with(_trades(("P", 10, 1.0)))) is False


def test_codes_and_value_read_the_non_derivative_table_of_forms_3_4_5() -> None:
    buys = _trades(("P", 1000, 12.5), ("S", 10, 1.0))
    assert DetailFilter(codes=frozenset({"P"})).passes(_with(buys)) is True
    assert not DetailFilter(codes=frozenset({"G"})).passes(_with(buys))  # M is derivative
    assert DetailFilter(codes=frozenset({"M"})).passes(_with(buys)) is False
    assert (
        DetailFilter(codes=frozenset({"P"})).passes(_with(EightK(items=["8.01"]), "8-K")) is False
    )
    assert DetailFilter(min_value=12_510).passes(_with(buys))  # 12,500 + 10 in all
    assert DetailFilter(min_value=12_511).passes(_with(buys)) is False
    assert DetailFilter(codes=frozenset({"P"}), min_value=12_500).passes(_with(buys)) is True
    assert DetailFilter(codes=frozenset({"S"}), min_value=11).passes(_with(buys)) is False
    unpriced = _trades(("A", 5000, None))
    assert DetailFilter(min_value=1).passes(_with(unpriced)) is False
    assert DetailFilter(min_value=0).passes(_with(unpriced)) is True


def test_sic_is_the_issuers_for_forms_3_4_5_and_the_filers_for_an_8k() -> None:
    pharma = DetailFilter(sics=("28", "6022"))
    assert pharma.passes(_with(_trades(sic="2834"))) is True
    assert pharma.passes(_with(_trades(sic="3720"))) is False
    assert pharma.passes(_with(_trades(sic=None))) is False
    assert pharma.passes(_with(EightK(sic="6022"), "8-K")) is True
    assert pharma.passes(_with(EightK(sic="6021"), "8-K")) is False
    assert not pharma.passes(_with(Schedule13(), "SCHEDULE 13G"))  # no SIC in a schedule


@pytest.mark.parametrize(
    ("text", "prefix"), [("2834", "2834"), ("28xx", "28"), ("2XXX", "2"), (" 6022 ", "6022")]
)
# mutant: equivalent: secfeed_cli/details/criteria.py:66 strips "XXx" for "x": the text is
# lower case by then, so no X is there to strip.
def test_a_sic_code_or_its_prefix(text: str, prefix: str) -> None:
    assert parse_sic(text) == prefix


@pytest.mark.parametrize("text", ["283", "28345", "xxxx", "28x4", "abcd", ""])
def test_what_is_no_sic_code(text: str) -> None:
    with pytest.raises(ValueError, match="is not a SIC code"):
        parse_sic(text)


def test_the_items_are_form_8ks_own() -> None:
    """Form 8-K's item codes (General Instructions B, as amended 2023), read from the form, not
    from the table: each is known, named, and has a short name of its own."""
    from secfeed_cli.details.eightk import ITEMS

    codes = (
        "1.01 1.02 1.03 1.04 1.05 2.01 2.02 2.03 2.04 2.05 2.06 3.01 3.02 3.03 4.01 4.02 5.01"
        " 5.02 5.03 5.04 5.05 5.06 5.07 5.08 6.01 6.02 6.03 6.04 6.05 6.06 6.10 7.01 8.01 9.01"
    ).split()
    assert list(ITEMS) == codes
    shorts = [short for _, short in ITEMS.values()]
    assert len(set(shorts)) == len(shorts) and all(shorts)
    header = "".join(f"<ITEMS>{code}\n" for code in codes)
    found = parse_8k(header)
    assert found.items == codes and None not in found.item_names
    assert found.summary.count(", ") == len(codes) - 2  # every item but 9.01


# -- the bounds every document is read within ---------------------------------------------


def test_the_limits_are_the_documented_ones() -> None:
    from secfeed_cli.details.ownership import MAX_ROWS, MAX_TEXT
    from secfeed_cli.details.sgml import MAX_HEADER

    assert (MAX_XML, MAX_TEXT, MAX_ROWS, MAX_HEADER) == (4 << 20, 4000, 500, 256 << 10)


def test_a_text_is_cut_at_its_limit_and_not_before() -> None:
    from secfeed_cli.details.ownership import MAX_TEXT, bounded, squeezed

    assert bounded("a" * MAX_TEXT) == "a" * MAX_TEXT
    cut = bounded("a" * (MAX_TEXT + 1))
    assert len(cut) == MAX_TEXT and cut.endswith("a…")
    assert squeezed("  two\n\t words  ") == "two words"
    note = "word " * 10_000  # 50,000 characters, in many pieces below
    pieces = "".join(f"<b>{note[i : i + 100]}</b>" for i in range(0, len(note), 100))
    body = f"<footnotes><footnote id='F1'>{pieces}</footnote></footnotes>"
    kept = parse_ownership(_form4(body)).footnotes["F1"]
    assert len(kept) == MAX_TEXT and kept.startswith("word word") and kept.endswith("…")


def test_a_document_of_the_largest_size_is_read_and_one_byte_more_is_not() -> None:
    head = "<ownershipDocument><documentType>4</documentType><remarks>"
    tail = "</remarks></ownershipDocument>"
    pad = MAX_XML - len(head) - len(tail)
    assert parse_xml(head + "x" * pad + tail).tag == "ownershipDocument"
    with pytest.raises(DetailsError, match="over 4,194,304"):
        parse_xml(head + "x" * (pad + 1) + tail)
    with pytest.raises(DetailsError, match="over"):  # counted in UTF-8 bytes, not characters
        parse_xml(head + "é" * (pad // 2 + 1) + tail)
    odd = parse_xml(head + "a\ud800b" + tail)  # a lone surrogate cannot be UTF-8: replaced
    assert odd.findtext("remarks") == "a?b"


def test_the_xml_block_is_found_at_the_very_start_too() -> None:
    assert ownership_xml("<XML>\n<a/>\n</XML>") == "<a/>"
    with pytest.raises(DetailsError, match="cut off"):
        ownership_xml("<XML><a/>")


# mutant: equivalent: secfeed_cli/details/ownership.py:48 `end < 0` as `<= 0` or `< 1`: the
# end is searched from the start of <XML>, so it is never at 0.


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("0" * 39 + "1", None),
        ("0" * 40 + "1", "a number of 41 characters"),
        ("1000000000000000", None),
        ("-1000000000000000", None),
        ("1000000000000001", "out of range"),
    ],
)
def test_numbers_at_the_edges_of_what_is_read(text: str, said: str | None) -> None:
    if said is None:
        [row] = parse_ownership(_form4(_sale("P", text, None))).transactions
        assert row.shares == int(text)
    else:
        with pytest.raises(DetailsError, match=said):
            parse_ownership(_form4(_sale("P", text, None)))


def test_lists_are_kept_up_to_their_limit_and_refused_beyond() -> None:
    refs = "".join(f"<footnoteId id='F{n}'/>" for n in range(501))
    sale = _sale("P", "1", "1").replace("<securityTitle>", f"{refs}<securityTitle>")
    [row] = parse_ownership(_form4(sale)).transactions
    assert len(row.footnotes) == 500 and row.footnotes[-1] == "F499"
    notes = "".join(f"<footnote id='F{n}'>n</footnote>" for n in range(500))
    assert len(parse_ownership(_form4(f"<footnotes>{notes}</footnotes>")).footnotes) == 500
    more = notes + "<footnote id='F500'>n</footnote>"
    with pytest.raises(DetailsError, match="more than 500 footnotes"):
        parse_ownership(_form4(f"<footnotes>{more}</footnotes>"))
    owners = "".join(_owner(f"O{n}", "isOther") for n in range(500))
    assert len(parse_ownership(_form4(owners)).owners) == 500
    with pytest.raises(DetailsError, match="more than 500 owners"):
        parse_ownership(_form4(owners + _owner("one more", "isOther")))
    rows = "".join(
        _sale("P", "1", "1")
        .replace("<nonDerivativeTable>", "")
        .replace("</nonDerivativeTable>", "")
        for _ in range(501)
    )
    with pytest.raises(DetailsError, match="more than 500"):
        parse_ownership(_form4(f"<nonDerivativeTable>{rows}</nonDerivativeTable>"))


def test_an_owner_without_a_cik_or_title_and_a_trade_without_a_code() -> None:
    anonymous = "<reportingOwner><reportingOwnerId><rptOwnerName>X</rptOwnerName>"
    found = parse_ownership(_form4(anonymous + "</reportingOwnerId></reportingOwner>"))
    assert found.owners == [Owner(name="X")]
    assert found.summary == "no securities reported · X"
    uncoded = _sale("", "5", "2").replace("<transactionCode></transactionCode>", "")
    assert parse_ownership(_form4(uncoded)).summary == "? 5 @ $2.00 = $10"


def test_the_brief_cell_in_billions_and_roles_together() -> None:
    roles = _owner("Big", "isDirector", "isOther")
    big = parse_ownership(_form4(roles + _sale("P", "2,000,000", "1000")))
    assert brief(big) == "P $2B Dir/Oth"
    exact = parse_ownership(_form4(_sale("S", "1000", "1")))
    assert brief(exact) == "S $1K"


def test_the_sec_header_reads_only_its_own_head_and_the_partys_sic() -> None:
    header = (
        "<SEC-HEADER>\n<TYPE>4\n<PERIOD>20240102\n<REPORTING-OWNER>\n<ASSIGNED-SIC>9999\n"
        "<ISSUER>\n<ASSIGNED-SIC>2834\n</SEC-HEADER>\n<ASSIGNED-SIC>1111\n<ITEMS>5.02\n"
    )
    found = parse_header(header, party="ISSUER")
    assert (found.form, found.sic, found.period, found.items) == ("4", "2834", "2024-01-02", ())
    assert parse_header(header).sic == "9999"  # no party: the first in the header
    text = (
        "CONFORMED SUBMISSION TYPE:\t8-K\nFILER:\n STANDARD INDUSTRIAL CLASSIFICATION: X [6022]\n"
    )
    assert (parse_header(text, party="FILER").form, parse_header(text).sic) == ("8-K", "6022")
    late = "x" * (256 << 10) + "\n<TYPE>4\n"
    assert parse_header(late).form is None  # past the head: not read
    assert hash(parse_header("")) == hash(parse_header(""))


def test_an_8k_sic_is_the_filers_and_old_item_names_make_a_short_summary() -> None:
    header = "<FILED-BY>\n<ASSIGNED-SIC>1111\n<FILER>\n<ASSIGNED-SIC>2222\n<ITEMS>8.01\n"
    assert parse_8k(header).sic == "2222"
    old = "".join(f"ITEM INFORMATION: Something said at length number {n}\n" for n in range(5))
    found = parse_8k(old)
    assert found.items == [] and len(found.item_names) == 5
    said = "; ".join(f"Something said at length number {n}" for n in range(5))
    assert found.summary == said[:80] and len(found.summary) == 80
    assert parse_8k("<TYPE>8-K\n").summary == "no items listed"
    assert parse_8k("<ITEMS>9.01\n").summary == "9.01 exhibits"  # all there is: named
    assert parse_8k("<ITEMS>9.99\n").summary == "9.99"  # a code Form 8-K does not list


# mutant: equivalent: secfeed_cli/details/eightk.py:89 _key's separator: the names it looks up
# were made by the same _key.


def _schedule(persons: str, extra: str = "") -> str:
    return (
        "<edgarSubmission><submissionType>SCHEDULE 13G</submissionType><issuerCik>0000000007"
        f"</issuerCik>{extra}{persons}</edgarSubmission>"
    )


def _person(name: str, percent: str | None, cik: str = "") -> str:
    share = f"<classPercent>{percent}</classPercent>" if percent is not None else ""
    return (
        f"<coverPageHeaderReportingPersonDetails><reportingPersonName>{name}"
        f"</reportingPersonName><reportingPersonCIK>{cik}</reportingPersonCIK>{share}"
        "</coverPageHeaderReportingPersonDetails>"
    )


def test_a_schedule_13_of_few_facts_and_of_the_most_persons() -> None:
    found = parse_schedule13(
        _schedule(_person("A", None, "x12"), "<titleOfClass>Common</titleOfClass>")
    )
    assert found.issuer.cik == 7 and found.security == "Common"
    assert found.persons[0].cik is None  # not digits
    assert found.summary == "1 reporting persons · the issuer"
    two = parse_schedule13(_schedule(_person("Small", "1.5") + _person("Big", "9.9", "42")))
    assert two.summary == "9.9% of the issuer · Big +1" and two.persons[1].cik == 42
    many = "".join(_person(f"P{n}", "1") for n in range(500))
    assert len(parse_schedule13(_schedule(many)).persons) == 500
    with pytest.raises(DetailsError, match="more than 500 reporting persons"):
        parse_schedule13(_schedule(many + _person("one more", "1")))


def test_the_summary_names_four_codes_and_counts_the_rest() -> None:
    def of(codes: str) -> str:
        rows = "".join(
            _sale(c, "1", "1")
            .replace("<nonDerivativeTable>", "")
            .replace("</nonDerivativeTable>", "")
            for c in codes
        )
        return parse_ownership(_form4(f"<nonDerivativeTable>{rows}</nonDerivativeTable>")).summary

    assert "more" not in of("ABCD") and of("ABCD").count("@") == 4
    assert of("ABCDE").endswith(" +1 more")


def test_a_title_counts_only_for_an_officer() -> None:
    director = _owner("D", "isDirector").replace(
        "</reportingOwnerRelationship>", "<otherText>Chair</otherText></reportingOwnerRelationship>"
    )
    found = parse_ownership(_form4(director + _sale("P", "1", "1")))
    assert found.owners[0].title == "Chair" and found.summary.endswith(" · Director")
    officer = parse_ownership(_form4(_owner("O", "isOfficer") + _sale("P", "1", "1")))
    assert officer.summary.endswith(" · Officer")  # no title given: the role
    billion = parse_ownership(_form4(_sale("P", "1,000,000", "1000")))
    assert brief(billion) == "P $1B"


# mutant: equivalent: secfeed_cli/details/ownership.py:292 `p or 0` as `p or 1` and
# zip(strict=False): every price is a number there (checked just above) and the lists are
# one per row; :304 `_who` without owners returns "" or None, both read as "no one".


if __name__ == "__main__":  # python -m tests.test_details: write the golden files anew
    GOLDEN.mkdir(exist_ok=True)
    for sample in SAMPLES:
        data = json.dumps(details_of(sample), indent=1, ensure_ascii=False, sort_keys=True)
        (GOLDEN / f"{sample}.json").write_text(data + "\n")
    print(f"wrote {len(SAMPLES)} golden files")
