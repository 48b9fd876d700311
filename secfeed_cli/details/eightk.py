"""8-K: which items a current report covers (``5.02``: an officer left or arrived), and the
filer's industry, from its SEC header. Pure.

The header lists the item codes (``<ITEMS>5.02``, one line each, since August 2004); older
reports have only the text header's "ITEM INFORMATION" lines, often empty. Names are Form 8-K's
own (General Instructions, as amended 2023); a short form of each makes the summary.
"""

from __future__ import annotations

import re

from msgspec.structs import replace

from ..wire.details import EightK
from .sgml import parse_header

#: Form 8-K's items: the code, its name, and a short name for one-line summaries.
ITEMS: dict[str, tuple[str, str]] = {
    "1.01": ("Entry into a Material Definitive Agreement", "agreement"),
    "1.02": ("Termination of a Material Definitive Agreement", "agreement ended"),
    "1.03": ("Bankruptcy or Receivership", "bankruptcy"),
    "1.04": ("Mine Safety - Reporting of Shutdowns and Patterns of Violations", "mine safety"),
    "1.05": ("Material Cybersecurity Incidents", "cybersecurity incident"),
    "2.01": ("Completion of Acquisition or Disposition of Assets", "acquisition/disposition"),
    "2.02": ("Results of Operations and Financial Condition", "results"),
    "2.03": (
        "Creation of a Direct Financial Obligation or an Obligation under an Off-Balance"
        " Sheet Arrangement of a Registrant",
        "new debt",
    ),
    "2.04": (
        "Triggering Events That Accelerate or Increase a Direct Financial Obligation or an"
        " Obligation under an Off-Balance Sheet Arrangement",
        "debt accelerated",
    ),
    "2.05": ("Costs Associated with Exit or Disposal Activities", "exit costs"),
    "2.06": ("Material Impairments", "impairment"),
    "3.01": (
        "Notice of Delisting or Failure to Satisfy a Continued Listing Rule or Standard;"
        " Transfer of Listing",
        "delisting notice",
    ),
    "3.02": ("Unregistered Sales of Equity Securities", "unregistered sale"),
    "3.03": ("Material Modification to Rights of Security Holders", "holder rights changed"),
    "4.01": ("Changes in Registrant's Certifying Accountant", "auditor change"),
    "4.02": (
        "Non-Reliance on Previously Issued Financial Statements or a Related Audit Report or"
        " Completed Interim Review",
        "non-reliance",
    ),
    "5.01": ("Changes in Control of Registrant", "change in control"),
    "5.02": (
        "Departure of Directors or Certain Officers; Election of Directors; Appointment of"
        " Certain Officers; Compensatory Arrangements of Certain Officers",
        "officer change",
    ),
    "5.03": (
        "Amendments to Articles of Incorporation or Bylaws; Change in Fiscal Year",
        "bylaws or fiscal year",
    ),
    "5.04": (
        "Temporary Suspension of Trading Under Registrant's Employee Benefit Plans",
        "plan trading suspended",
    ),
    "5.05": (
        "Amendment to Registrant's Code of Ethics, or Waiver of a Provision of the Code of Ethics",
        "ethics code",
    ),
    "5.06": ("Change in Shell Company Status", "shell status"),
    "5.07": ("Submission of Matters to a Vote of Security Holders", "shareholder vote"),
    "5.08": ("Shareholder Director Nominations", "director nominations"),
    "6.01": ("ABS Informational and Computational Material", "ABS material"),
    "6.02": ("Change of Servicer or Trustee", "servicer change"),
    "6.03": ("Change in Credit Enhancement or Other External Support", "credit enhancement"),
    "6.04": ("Failure to Make a Required Distribution", "missed distribution"),
    "6.05": ("Securities Act Updating Disclosure", "updating disclosure"),
    "6.06": ("Static Pool", "static pool"),
    "6.10": ("Alternative Filings of Asset-Backed Issuers", "ABS alternative filing"),
    "7.01": ("Regulation FD Disclosure", "Reg FD"),
    "8.01": ("Other Events", "other events"),
    "9.01": ("Financial Statements and Exhibits", "exhibits"),
}


def _key(name: str) -> str:
    """A name as compared: case, punctuation and spacing aside (SEC's text headers write
    "Appointment of Certain Officers: Compensatory" where the form has a semicolon)."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", name.casefold()).split())


#: Names SEC's item list has used since items were numbered (August 2004, Release 33-8400)
#: and has since changed: a report of the time names its item so in its header.
FORMER_NAMES: dict[str, tuple[str, ...]] = {
    # 2004-2006; Release 33-8732A (2006) added compensatory arrangements and "Certain".
    "5.02": (
        "Departure of Directors or Principal Officers; Election of Directors; Appointment of"
        " Principal Officers",
    ),
    # the 2004 wording, which EDGAR's headers still use beside the form's
    "5.05": (
        "Amendments to the Registrant's Code of Ethics, or Waiver of a Provision of the Code"
        " of Ethics",
    ),
}

#: The codes by their names, now and before (a full submission's header names its items,
#: without codes).
BY_NAME = {_key(name): code for code, (name, _) in ITEMS.items()} | {
    _key(name): code for code, names in FORMER_NAMES.items() for name in names
}


def parse_8k(header_text: str) -> EightK:
    """The details of an 8-K from its index-headers page (or its full submission's head)."""
    header = parse_header(header_text, party="FILER")
    items = list(dict.fromkeys(header.items))
    if not items:  # a full submission's text header: the names, which give the codes back
        items = [BY_NAME[_key(t)] for t in header.item_texts if _key(t) in BY_NAME]
    names: list[str | None] = [ITEMS[code][0] if code in ITEMS else None for code in items]
    if not items and header.item_texts:  # before 2004: names only, as the filer gave them
        names = list(header.item_texts)
    details = EightK(items=items, item_names=names, sic=header.sic, period=header.period)
    return replace(details, summary=summary(items, names))


def summary(items: list[str], names: list[str | None]) -> str:
    """``5.02 officer change``; exhibits (9.01) are named only when they are all there is."""
    if not items:
        texts = [n for n in names if n]
        return "; ".join(texts)[:80] if texts else "no items listed"
    shown = [code for code in items if code != "9.01"] or items
    return ", ".join(f"{code} {ITEMS[code][1]}" if code in ITEMS else code for code in shown)
