"""Forms 3, 4 and 5 (and their amendments): who traded what, from the ownership XML. Pure.

The XML is EDGAR's ``ownershipDocument`` (schema X0101 to X0508): an issuer, one to ten
reporting owners, a non-derivative and a derivative table of transactions and holdings, and
footnotes. Real filings mix booleans as ``1``/``0`` and ``true``/``false``, leave prices out,
give a value only as a footnote, report an option exercise in both tables (never summed here:
each table is summarised apart), and are sometimes malformed: any of that is a
:class:`DetailsError` with a reason, never a crash. Hostile XML is refused before parsing: a
document type declaration (the only way to declare entities) or more than :data:`MAX_XML`.
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.etree import ElementTree

import defusedxml
import defusedxml.ElementTree
from msgspec.structs import replace

from ..wire.details import MAX_NUMBER, Issuer, Owner, Ownership, Row
from .sgml import DetailsError, Header, NoDocument

#: The largest ownership XML parsed (real ones are 3-60 KB; Form 3s with many holdings more).
MAX_XML = 4 << 20
#: The longest text kept from a document (a name, a footnote, the remarks), in characters;
#: longer ones end in "…". Real footnotes run to about 1,500.
MAX_TEXT = 4_000
#: The most entries kept of a list (owners, transactions, holdings, footnotes); real Form 4s
#: have at most a few dozen transactions.
MAX_ROWS = 500

ROLES = (
    ("isDirector", "director"),
    ("isOfficer", "officer"),
    ("isTenPercentOwner", "ten_percent_owner"),
    ("isOther", "other"),
)


def ownership_xml(submission: str) -> str:
    """The ownership XML inside a full submission text (``{accession}.txt``): the first
    ``<XML>`` block; DetailsError when there is none (text filings before 2003)."""
    start = submission.find("<XML>")
    if start < 0:
        raise NoDocument("no XML in the submission (a text filing, from before XML forms?)")
    end = submission.find("</XML>", start)
    if end < 0:
        raise DetailsError("the XML is cut off (no </XML>)")
    return submission[start + len("<XML>") : end].strip()


def parse_xml(text: str | bytes) -> ElementTree.Element:
    """The document's root, parsed safely: no DTD (so no entities), at most MAX_XML."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    if len(data) > MAX_XML:
        raise DetailsError(f"the XML is {len(data):,} bytes, over {MAX_XML:,}")
    try:
        root: ElementTree.Element = defusedxml.ElementTree.fromstring(data, forbid_dtd=True)
    except ElementTree.ParseError as exc:
        raise DetailsError(f"malformed XML: {exc}") from None
    except defusedxml.DefusedXmlException:
        raise DetailsError("the XML declares a document type (entities are not accepted)") from None
    except ValueError as exc:  # an encoding expat cannot read ("multi-byte encodings ...")
        raise DetailsError(f"malformed XML: {exc}") from None
    return root


def bounded(text: str) -> str:
    """``text`` cut at :data:`MAX_TEXT` characters."""
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def squeezed(text: str) -> str:
    """A document's text with its runs of white space made one space, cut at
    :data:`MAX_TEXT` characters (no more of it is read than that can need)."""
    return bounded(" ".join(text[: MAX_TEXT * 4].split()))


def _text(node: ElementTree.Element | None, path: str) -> str | None:
    found = None if node is None else node.find(path)
    if found is None or found.text is None:
        return None
    return squeezed(found.text) or None


def _value(node: ElementTree.Element | None, path: str) -> str | None:
    """``path/value``'s text, or ``path``'s own (older filings leave ``<value>`` out)."""
    if node is None:
        return None
    return _text(node, f"{path}/value") or _text(node, path)


def _flag(node: ElementTree.Element | None, path: str) -> bool | None:
    text = _value(node, path)
    if text is None:
        return None
    return text.strip().lower() in ("1", "true", "y", "yes")


def _number(text: str | None) -> float | int | None:
    """A number as the document gives it: ``1500`` an int, ``1500.0`` or ``66.9`` a float;
    None for text that is no number; DetailsError beyond :data:`MAX_NUMBER`."""
    if text is None:
        return None
    cleaned = text.replace(",", "").replace("$", "").strip()
    if len(cleaned) > 40:  # no real amount has 40 characters
        raise DetailsError(f"a number of {len(cleaned):,} characters in the XML")
    try:
        number = float(cleaned)
    except ValueError:
        return None
    if number != number:
        return None
    if not -MAX_NUMBER <= number <= MAX_NUMBER:
        raise DetailsError(f"a number out of range in the XML: {cleaned[:24]}")
    return int(number) if number.is_integer() and "." not in cleaned else number


def _joined(node: ElementTree.Element) -> str:
    """A node's text with its children's, read no further than :data:`MAX_TEXT` allows."""
    parts: list[str] = []
    size = 0
    for piece in node.itertext():
        parts.append(piece[: MAX_TEXT * 4])
        size += len(parts[-1])
        if size > MAX_TEXT * 4:
            break
    return "".join(parts)


def _footnotes(node: ElementTree.Element) -> list[str]:
    seen: dict[str, None] = {}
    for ref in node.iter("footnoteId"):
        ident = ref.get("id")
        if ident:
            seen[bounded(ident)] = None
            if len(seen) >= MAX_ROWS:
                break
    return list(seen)


def _row(node: ElementTree.Element, table: str, holding: bool) -> Row:
    """One transaction or holding: the fields a holding lacks, and those of the derivative
    table the other lacks, are left out (UNSET), made in one go."""
    fields: dict[str, object] = {}
    if not holding:
        amounts = node.find("transactionAmounts")
        fields.update(
            date=_value(node, "transactionDate"),
            code=_text(node, "transactionCoding/transactionCode"),
            shares=_number(_value(amounts, "transactionShares")),
            value=_number(_value(amounts, "transactionTotalValue")),
            price=_number(_value(amounts, "transactionPricePerShare")),
            acquired_disposed=_value(amounts, "transactionAcquiredDisposedCode"),
        )
    if table == "derivative":
        fields.update(
            exercise_price=_number(_value(node, "conversionOrExercisePrice")),
            exercisable=_value(node, "exerciseDate"),
            expires=_value(node, "expirationDate"),
            underlying=_value(node, "underlyingSecurity/underlyingSecurityTitle"),
            underlying_shares=_number(_value(node, "underlyingSecurity/underlyingSecurityShares")),
        )
    after = node.find("postTransactionAmounts")
    return Row(
        table=table,
        security=_value(node, "securityTitle"),
        shares_after=_number(_value(after, "sharesOwnedFollowingTransaction")),
        value_after=_number(_value(after, "valueOwnedFollowingTransaction")),
        direct_indirect=_value(node, "ownershipNature/directOrIndirectOwnership"),
        nature=_value(node, "ownershipNature/natureOfOwnership"),
        footnotes=_footnotes(node),
        **fields,  # type: ignore[arg-type]
    )


def _owner(node: ElementTree.Element) -> Owner:
    relation = node.find("reportingOwnerRelationship")
    roles = [name for tag, name in ROLES if _flag(relation, tag)]
    cik = _text(node, "reportingOwnerId/rptOwnerCik")
    return Owner(
        cik=int(cik) if cik and cik.isdigit() else None,
        name=_text(node, "reportingOwnerId/rptOwnerName"),
        roles=roles,
        title=_text(relation, "officerTitle") or _text(relation, "otherText"),
    )


def parse_ownership(xml: str, header: Header | None = None) -> Ownership:
    """The details of one ownership document (see the README's schema)."""
    root = parse_xml(xml)
    if root.tag != "ownershipDocument":
        raise DetailsError(f"not an ownership document (root <{root.tag}>)")
    issuer_cik = _text(root, "issuer/issuerCik")
    symbol = _text(root, "issuer/issuerTradingSymbol")
    issuer = Issuer(
        cik=int(issuer_cik) if issuer_cik and issuer_cik.isdigit() else None,
        name=_text(root, "issuer/issuerName"),
        ticker=None if symbol is None or symbol.upper() in ("NONE", "N/A", "NA") else symbol,
        sic=header.sic if header is not None else None,
    )
    owners = [_owner(node) for node in root.findall("reportingOwner")]
    rows: list[Row] = []
    holdings: list[Row] = []
    for table, path in (
        ("non_derivative", "nonDerivativeTable"),
        ("derivative", "derivativeTable"),
    ):
        section = root.find(path)
        if section is None:
            continue
        for node in section:
            if node.tag.endswith("Transaction"):
                rows.append(_row(node, table, holding=False))
            elif node.tag.endswith("Holding"):
                holdings.append(_row(node, table, holding=True))
    footnotes = {
        bounded(note.get("id", "")): squeezed(_joined(note))
        for note in root.iter("footnote")
        if note.get("id")
    }
    if len(rows) > MAX_ROWS or len(holdings) > MAX_ROWS or len(owners) > MAX_ROWS:
        raise DetailsError(f"more than {MAX_ROWS} owners, transactions or holdings")
    if len(footnotes) > MAX_ROWS:
        raise DetailsError(f"more than {MAX_ROWS} footnotes")
    details = Ownership(
        form=_text(root, "documentType"),
        period=_text(root, "periodOfReport"),
        issuer=issuer,
        owners=owners,
        transactions=rows,
        holdings=holdings,
        footnotes=footnotes,
        rule_10b5_1=_flag(root, "aff10b5One"),
        remarks=_text(root, "remarks"),
    )
    return replace(details, summary=summary(details))


# -- the one-line summary ----------------------------------------------------------------


def summary(details: Ownership) -> str:
    """``P 10,000 @ $12.50 = $125,000 · Director``: each transaction code of the
    non-derivative table with its shares, average price and value (the derivative table's
    when that one is empty), then who filed."""
    by_code = _by_code(details)
    parts = [_code_part(code, rows) for code, rows in by_code.items()]
    if not parts:
        held = len(details.holdings)
        parts = [f"holdings only ({held})" if held else "no securities reported"]
    who = _who(details.owners)
    text = ", ".join(parts[:4]) + (f" +{len(parts) - 4} more" if len(parts) > 4 else "")
    return f"{text} · {who}" if who else text


def _by_code(details: Ownership) -> dict[str, list[Row]]:
    """The summarised transactions by code (``?`` without one), in order of first sight: the
    non-derivative table's, or the derivative one's when that is empty (an exercise reported
    in both is then counted once)."""
    rows = [r for r in details.transactions if r.table == "non_derivative"]
    groups: dict[str, list[Row]] = {}
    for row in rows or details.transactions:
        groups.setdefault(str(row.code or "?"), []).append(row)
    return groups


def traded_value(rows: Iterable[Row]) -> float:
    """What these transactions are worth at their prices (those without a price or shares
    count nothing)."""
    total = 0.0
    for row in rows:
        shares, price = row.traded
        if shares is not None and price is not None:
            total += shares * price
    return total


def _code_part(code: str, rows: list[Row]) -> str:
    traded = [r.traded for r in rows]
    if any(shares is None for shares, _ in traded):
        values = [r.value if isinstance(r.value, int | float) else None for r in rows]
        if all(v is not None for v in values):  # value-denominated (convertible notes)
            return f"{code} ${sum(v for v in values if v is not None):,.0f} in value"
        return f"{code} ({len(rows)})"
    shares = [s for s, _ in traded if s is not None]
    prices = [p for _, p in traded]
    total = sum(shares)
    text = f"{code} {amount(total)}"
    if total and all(p is not None for p in prices) and any(prices):
        value = sum(s * (p or 0) for s, p in zip(shares, prices, strict=True))
        text += f" @ ${value / total:,.2f} = ${value:,.0f}"
    return text


def amount(n: float) -> str:
    """A number of shares or dollars: whole with thousands separators, else two decimals."""
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:,.2f}"


def _who(owners: list[Owner]) -> str:
    if not owners:
        return ""
    first = owners[0]
    labels = {
        "director": "Director",
        "officer": "Officer",
        "ten_percent_owner": "10% owner",
        "other": "Other",
    }
    roles = [labels.get(r, r) for r in first.roles]
    if "officer" in first.roles and first.title:
        roles[roles.index("Officer")] = first.title
    text = ", ".join(roles) or (first.name or "")
    return text + (f" +{len(owners) - 1} owners" if len(owners) > 1 else "")


def brief(details: Ownership) -> str:
    """The summary for a table cell: ``P $1.2M Dir``, ``S $100K Off +2``."""
    parts = []
    for code, mine in _by_code(details).items():
        value = traded_value(mine)
        shares = sum(s for s, _ in (r.traded for r in mine) if s is not None)
        parts.append(f"{code} ${_compact(value)}" if value else f"{code} {_compact(shares)} sh")
    if not parts:
        parts = ["holdings"]
    owners = details.owners
    short = {"director": "Dir", "officer": "Off", "ten_percent_owner": "10%", "other": "Oth"}
    role = "/".join(short.get(r, r) for r in owners[0].roles) if owners else ""
    more = f" +{len(owners) - 1}" if len(owners) > 1 else ""
    return " ".join([*parts[:3], role]).strip() + more


def _compact(n: float) -> str:
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}".replace(".0" + unit, unit)
    return f"{n:,.0f}"
