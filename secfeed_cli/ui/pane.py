"""The details pane's text for one filing: what the feed said, where it is on EDGAR, and what
the filing says (Form 3/4/5 transactions, 8-K items with their names, Schedule 13D/G), from
``--details`` or fetched on demand. Every text from the feed or a document is escaped.
"""

from __future__ import annotations

import re

from msgspec import UNSET
from rich.text import Text

from ..common.escape import escape_control
from ..details.ownership import amount
from ..output.layout import local_time
from ..wire.details import Details, EightK, NoDetails, Ownership, Report, Schedule13
from ..wire.details import Text as TextOf
from ..wire.filing import Filing

#: Transactions listed at most (a Form 4 can carry hundreds).
MAX_ROWS = 40


def _t(value: object) -> str:
    return escape_control("" if value is None or value is UNSET else str(value))


def _number(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _t(value)
    return amount(value)


def describe(
    filing: Filing,
    details: Details | None,
    note: str | None = None,
    utc: bool = False,
    marks: tuple[re.Pattern[str], ...] = (),
) -> Text:
    """The pane for ``filing``; ``details`` as ``--details`` gives them (None: none yet),
    ``note``: why there are none (fetching, no User-Agent); ``marks``: what to highlight
    (``--grep``'s patterns, the words of the ``/`` filter)."""
    out = _describe(filing, details, note, utc)
    for pattern in marks:
        out.highlight_regex(pattern, style="reverse")
    return out


def _describe(filing: Filing, details: Details | None, note: str | None, utc: bool) -> Text:
    out = Text()
    who = filing.company or filing.description
    title = f"{_t(filing.form)}  {_t(who)}"
    if filing.ticker:
        title += f" ({_t(filing.ticker)})"
    out.append(title + "\n", style="bold")
    out.append(
        f"CIK {filing.cik} · accession {filing.accession_no} · filed {filing.filing_date}"
        f" · discovered {local_time(filing, utc)}"
        + (" · backlog" if filing.is_historical else "")
        + "\n",
        style="dim",
    )
    out.append(f"{_t(filing.description)}\n")
    out.append(f"{filing.url}\n", style="underline")
    if details is None:
        if note:
            out.append(f"\n{note}\n", style="italic")
        return out
    if isinstance(details, NoDetails):
        reason = details.reason
        out.append(
            f"\ndetails: {_t(details.status)}" + (f" ({_t(reason)})" if reason else "") + "\n"
        )
        return out
    if isinstance(details, Ownership):
        _ownership(out, details)
    elif isinstance(details, EightK):
        _eightk(out, details)
    elif isinstance(details, Report):
        out.append(f"\nsummary {_t(details.summary)}\n", style="bold")
        if isinstance(details.text, TextOf):
            _words(out, details.text)
    else:
        _schedule13(out, details)
    return out


def _ownership(out: Text, details: Ownership) -> None:
    issuer = details.issuer
    line = f"\nissuer {_t(issuer.name)}"
    if issuer.ticker:
        line += f" ({_t(issuer.ticker)})"
    if issuer.sic:
        line += f" · SIC {_t(issuer.sic)}"
    out.append(line + "\n")
    for owner in details.owners:
        roles = ", ".join(_t(r).replace("_", " ") for r in owner.roles)
        text = f"owner {_t(owner.name)}"
        if roles:
            text += f" · {roles}"
        if owner.title:
            text += f" ({_t(owner.title)})"
        out.append(text + "\n")
    out.append(f"summary {_t(details.summary)}\n", style="bold")
    rows = details.transactions
    if rows:
        out.append(
            f"\n{'date':<10}  {'code':<4}  {'shares':>12}  {'price':>10}  {'A/D':<3}"
            f"  {'owned after':>12}  security\n",
            style="underline",
        )
    for row in rows[:MAX_ROWS]:
        out.append(
            f"{_t(row.date):<10}  {_t(row.code):<4}"
            f"  {_number(row.shares):>12}  {_number(row.price):>10}"
            f"  {_t(row.acquired_disposed):<3}  {_number(row.shares_after):>12}"
            f"  {_t(row.security)}\n"
        )
    if len(rows) > MAX_ROWS:
        out.append(f"… {len(rows) - MAX_ROWS} more transactions\n", style="dim")
    if details.holdings:
        out.append(f"{len(details.holdings)} holdings reported\n", style="dim")
    if details.rule_10b5_1:
        out.append("under a Rule 10b5-1 plan\n")


def _eightk(out: Text, details: EightK) -> None:
    line = "\nitems"
    if details.sic:
        line += f" · SIC {_t(details.sic)}"
    if details.period:
        line += f" · period {_t(details.period)}"
    out.append(line + "\n", style="bold")
    items, names = details.items, details.item_names
    for i, code in enumerate(items):
        name = names[i] if i < len(names) else None
        out.append(f"  {_t(code):<5} {_t(name)}\n")
    if not items:
        for name in names:
            out.append(f"  {_t(name)}\n")
        if not names:
            out.append("  no items listed\n", style="dim")
    if isinstance(details.text, TextOf):
        _words(out, details.text)


def _words(out: Text, text: TextOf) -> None:
    """``--text``: each item under its heading, then each exhibit; the whole text where the
    run kept it (the ui does), else the excerpts."""
    if text.status != "ok":
        out.append(f"\ntext: {_t(text.status)} ({_t(text.reason)})\n", style="italic")
        return
    out.append(f"\n{_t(text.url)} · {text.words:,} words\n", style="dim")
    for item in text.items:
        out.append(f"\nItem {_t(item.code)}  {_t(item.name)}\n", style="bold")
        body = item.text if isinstance(item.text, str) else item.excerpt
        out.append(f"{_t_lines(body)}\n")
    for exhibit in text.exhibits:
        out.append(f"\n{_t(exhibit.type)}  {_t(exhibit.description)}", style="bold")
        out.append(f" · {exhibit.words:,} words\n", style="dim")
        if isinstance(exhibit.problem, str):
            out.append(f"{_t(exhibit.problem)}\n", style="italic")
        body = exhibit.text if isinstance(exhibit.text, str) else exhibit.excerpt
        out.append(f"{_t_lines(body)}\n")


def _t_lines(text: str) -> str:
    """A text of many lines, each escaped (its line breaks kept)."""
    return "\n".join(escape_control(line) for line in text.split("\n"))


def _schedule13(out: Text, details: Schedule13) -> None:
    issuer = details.issuer
    out.append(f"\nissuer {_t(issuer.name)}", style="bold")
    if issuer.cusip:
        out.append(f" · CUSIP {_t(issuer.cusip)}")
    out.append(f"\nsecurity {_t(details.security)} · event {_t(details.event_date)}\n")
    out.append(f"summary {_t(details.summary)}\n", style="bold")
    for person in details.persons[:MAX_ROWS]:
        percent = person.percent
        share = "" if percent is None else f"{_t(percent)}% · "
        out.append(f"  {_t(person.name)}: {share}{_number(person.amount)} shares\n")
