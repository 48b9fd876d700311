"""Schedules 13D and 13G (and amendments): who holds how much of a company, from the XML EDGAR
has required since December 2024. Pure.

Two schemas (``schedule13D``, ``schedule13g``) with different names for the same things
(``issuerCIK``/``issuerCik``, ``percentOfClass``/``classPercent``, ``aggregateAmountOwned``/
``reportingPersonBeneficiallyOwnedAggregateNumberOfShares``); both are read, namespaces aside.
Joint filers report the same shares each: they are listed, never summed.
"""

from __future__ import annotations

from xml.etree import ElementTree

from msgspec.structs import replace

from ..wire.details import Issuer13, Person, Schedule13
from .ownership import MAX_ROWS, _number, parse_xml, squeezed
from .sgml import DetailsError


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(node: ElementTree.Element, *names: str) -> ElementTree.Element | None:
    """The first element below ``node`` with one of these local names."""
    wanted = set(names)
    for element in node.iter():
        if _local(element.tag) in wanted:
            return element
    return None


def _text(node: ElementTree.Element | None, *names: str) -> str | None:
    found = None if node is None else _find(node, *names)
    if found is None or found.text is None:
        return None
    return squeezed(found.text) or None


def _date(text: str | None) -> str | None:
    """``MM/DD/YYYY`` (the schedules' spelling) as ``YYYY-MM-DD``."""
    if text is None:
        return None
    parts = text.split("/")
    if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[2]) == 4:
        return f"{parts[2]}-{int(parts[0]):02d}-{int(parts[1]):02d}"
    return text


def parse_schedule13(xml: str) -> Schedule13:
    root = parse_xml(xml)
    if _local(root.tag) != "edgarSubmission":
        raise DetailsError(f"not a Schedule 13D/G document (root <{_local(root.tag)}>)")
    form = _text(root, "submissionType")
    issuer_cik = _text(root, "issuerCIK", "issuerCik")
    issuer = Issuer13(
        cik=int(issuer_cik) if issuer_cik and issuer_cik.isdigit() else None,
        name=_text(root, "issuerName"),
        cusip=_text(root, "issuerCUSIP", "issuerCusip", "issuerCusipNumber"),
    )
    persons: list[Person] = []
    for node in root.iter():
        if _local(node.tag) not in ("reportingPersonInfo", "coverPageHeaderReportingPersonDetails"):
            continue
        if len(persons) >= MAX_ROWS:
            raise DetailsError(f"more than {MAX_ROWS} reporting persons")
        cik = _text(node, "reportingPersonCIK")
        persons.append(
            Person(
                cik=int(cik) if cik and cik.isdigit() else None,
                name=_text(node, "reportingPersonName"),
                amount=_number(
                    _text(
                        node,
                        "aggregateAmountOwned",
                        "reportingPersonBeneficiallyOwnedAggregateNumberOfShares",
                    )
                ),
                percent=_number(_text(node, "percentOfClass", "classPercent")),
                types=[
                    squeezed(t.text)
                    for t in node.iter()
                    if _local(t.tag) == "typeOfReportingPerson" and t.text
                ][:MAX_ROWS],
            )
        )
    details = Schedule13(
        form=form,
        issuer=issuer,
        security=_text(root, "securitiesClassTitle", "titleOfClass"),
        event_date=_date(_text(root, "dateOfEvent", "eventDateRequiresFilingThisStatement")),
        persons=persons,
    )
    return replace(details, summary=summary(details))


def summary(details: Schedule13) -> str:
    """``9.9% of Spirit Aviation Holdings, Inc. · Citadel Advisors LLC +6``: the largest
    stake reported (joint filers report the same shares: not summed)."""
    stakes = [(p.percent, p) for p in details.persons if p.percent is not None]
    issuer = details.issuer.name or "the issuer"
    if not stakes:
        return f"{len(details.persons)} reporting persons · {issuer}"
    percent, top = max(stakes, key=lambda stake: stake[0])
    more = len(details.persons) - 1
    who = f"{top.name or '?'}" + (f" +{more}" if more else "")
    return f"{percent:g}% of {issuer} · {who}"
