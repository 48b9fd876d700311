"""``--details`` and ``--backfill``: the options that read EDGAR (one User-Agent, one pace)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..common.settings import DetailsSettings
from .groups import F, option_group
from .params import DURATION, EnvOption, HttpUrl

if TYPE_CHECKING:
    from ..details.criteria import DetailFilter
    from ..filtering.grep import Grep


#: How long a filing waits for its details: tail's, snapshot's, relay's, ui's and demo's.
_DETAILS_WAIT = click.option(
    "--details-wait",
    type=DURATION,
    default=None,
    metavar="S",
    help="A filing waits at most S seconds for its details (then status deferred). Default:"
    " 5 in the live table; the ui shows a row at once and adds them; other outputs wait"
    " until they are in.",
)

#: --text and --grep: tail's, snapshot's, relay's, ui's and demo's.
_TEXT = [
    click.option(
        "--text",
        "with_text",
        is_flag=True,
        help="8-Ks and 6-Ks: what the filing says, item by item, and its press releases"
        " (EX-99), from EDGAR; an excerpt of each (--text-full: all).",
    ),
    click.option(
        "--text-full",
        is_flag=True,
        help="The whole text of each item and exhibit in the output (implies --text).",
    ),
    click.option(
        "--grep",
        "greps",
        multiple=True,
        metavar="REGEX",
        help="Only filings whose words (--text, implied) or description match (repeatable:"
        " any of them).",
    ),
    click.option(
        "-i", "--ignore-case", is_flag=True, help="With --grep: either case matches (grep -i)."
    ),
    click.option(
        "-w", "--word-regexp", is_flag=True, help="With --grep: whole words only (grep -w)."
    ),
]

#: The filters that wait for details: tail's, snapshot's, relay's, ui's and demo's.
_CRITERIA = [
    click.option(
        "--item",
        "items",
        multiple=True,
        metavar="CODES",
        help="With --details: only 8-Ks with one of these items (2.02,5.02).",
    ),
    click.option(
        "--insider-code",
        "insider_codes",
        multiple=True,
        metavar="CODES",
        help="With --details: only Forms 3/4/5 with a transaction of these codes (P,S).",
    ),
    click.option(
        "--min-value",
        type=click.FloatRange(min=0),
        metavar="USD",
        help="With --details: only Forms 3/4/5 whose transactions are worth this much.",
    ),
    click.option(
        "--sic",
        "sics",
        multiple=True,
        metavar="CODES",
        help="With --details: only filings of these industries (2834, or 28xx).",
    ),
]


def details_options(f: F) -> F:
    return option_group(
        "details",
        _details,
        [
            click.option(
                "--details",
                "with_details",
                is_flag=True,
                help="Forms 3/4/5 and 8-K: what the filing says (trades, items), from EDGAR;"
                " needs --user-agent.",
            ),
            click.option(
                "--backfill",
                is_flag=True,
                help="With --archive: fill a gap since the archive's newest filing from"
                " EDGAR's indexes (needs --user-agent).",
            ),
            _DETAILS_WAIT,
            *_TEXT,
            click.option(
                "--user-agent",
                cls=EnvOption,
                envvar="SECFEED_USER_AGENT",
                show_envvar=True,
                metavar="'NAME EMAIL'",
                help="Who is asking EDGAR, as SEC requires: your name and a contact email.",
            ),
            click.option(
                "--edgar-url",
                type=HttpUrl(),
                default="https://www.sec.gov",
                show_default=True,
                cls=EnvOption,
                envvar="SECFEED_EDGAR_URL",
                show_envvar=True,
                metavar="URL",
                help="Where EDGAR is (a mirror, or a test server).",
            ),
            *_CRITERIA,
            click.option(
                "--edgar-rate",
                type=click.FloatRange(0, 10, min_open=True),
                default=5.0,
                show_default=True,
                metavar="N",
                help="EDGAR requests a second, at most (SEC allows 10 per organisation).",
            ),
        ],
    )(f)


def _details(
    with_details: bool,
    backfill: bool,
    details_wait: float | None,
    user_agent: str | None,
    edgar_url: str,
    edgar_rate: float,
    items: tuple[str, ...] = (),
    insider_codes: tuple[str, ...] = (),
    min_value: float | None = None,
    sics: tuple[str, ...] = (),
    with_text: bool = False,
    text_full: bool = False,
    greps: tuple[str, ...] = (),
    ignore_case: bool = False,
    word_regexp: bool = False,
) -> DetailsSettings | None:
    criteria = _criteria(with_details, items, insider_codes, min_value, sics)
    text, grep = _text(with_text, text_full, greps, ignore_case, word_regexp)
    asked = with_details or backfill or text
    if asked and not user_agent and _loopback(edgar_url):
        # SEC's rule is for sec.gov: an EDGAR on this machine (the emulator's, a test's, a
        # mirror) needs no declared requester, and is told who asks all the same.
        user_agent = LOCAL_USER_AGENT
    if not asked and not user_agent:
        return None  # nothing reads EDGAR (and the usual run imports nothing more for it)
    which = "--details" if with_details else "--text" if text else "--backfill"
    problem = _user_agent_problem(user_agent, which)
    if not asked:
        # A User-Agent alone lets `secfeed ui` ask EDGAR on demand (enrich and backfill off);
        # one that could not be sent is left unused: nothing here needs it.
        if problem is not None:
            return None
    elif problem is not None:
        raise click.UsageError(problem)
    assert user_agent is not None  # no problem: there is one
    from ..companies.tickers import cache_dir

    return DetailsSettings(
        user_agent=user_agent,
        edgar_url=edgar_url,
        rate=edgar_rate,
        wait=details_wait,
        cache=str(cache_dir() / "edgar"),
        criteria=criteria if criteria.active else None,
        enrich=with_details,
        backfill=backfill,
        text=text,
        text_full=text_full,
        grep=grep,
    )


def _text(
    with_text: bool,
    text_full: bool,
    greps: tuple[str, ...],
    ignore_case: bool,
    word_regexp: bool,
) -> tuple[bool, Grep | None]:
    """(--text, or implied by --text-full or --grep; the --grep filter)."""
    if (ignore_case or word_regexp) and not greps:
        raise click.UsageError("-i and -w go with --grep")
    grep = None
    if greps:
        from ..filtering.grep import Grep

        try:
            grep = Grep(list(greps), ignore_case=ignore_case, word=word_regexp)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    text = with_text or text_full or grep is not None
    if text:
        _need_text_extra()
    return text, grep


def _need_text_extra() -> None:
    from ..extras import install_hint

    try:
        import inscriptis  # type: ignore[import-untyped]  # noqa: F401
        import lxml  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        raise click.UsageError(
            f"--text and --grep need the text extra: {install_hint('text')}"
        ) from None


def _criteria(
    with_details: bool,
    items: tuple[str, ...],
    insider_codes: tuple[str, ...],
    min_value: float | None,
    sics: tuple[str, ...],
) -> DetailFilter:
    from ..details.criteria import DetailFilter, parse_sic
    from ..filtering.filters import split_patterns

    try:
        criteria = DetailFilter(
            items=frozenset(_item(i) for i in split_patterns(items)),
            codes=frozenset(c.upper() for c in split_patterns(insider_codes)),
            min_value=min_value,
            sics=tuple(parse_sic(s) for s in split_patterns(sics)),
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if criteria.active and not with_details:
        raise click.UsageError("--item, --insider-code, --min-value and --sic need --details")
    return criteria


def demo_details_options(f: F) -> F:
    """The demo's: --details (from the emulator's own EDGAR: no User-Agent, no network),
    --details-wait, and the filters that wait for details, as tail has them."""
    return option_group(
        "details",
        _demo_details,
        [
            click.option(
                "--details",
                "with_details",
                is_flag=True,
                help="What Forms 4 and 8-Ks say, from the emulator's EDGAR (real documents,"
                " offline).",
            ),
            _DETAILS_WAIT,
            *_TEXT,
            *_CRITERIA,
            click.option(
                "--edgar-rate",
                type=click.FloatRange(0, 10, min_open=True),
                default=10.0,
                show_default=True,
                metavar="N",
                help="Requests a second to the emulator's EDGAR (SEC's upper bound: it is on"
                " this machine, not SEC's; 5 to see tail's default pace).",
            ),
        ],
    )(f)


def _demo_details(
    with_details: bool,
    details_wait: float | None,
    items: tuple[str, ...] = (),
    insider_codes: tuple[str, ...] = (),
    min_value: float | None = None,
    sics: tuple[str, ...] = (),
    with_text: bool = False,
    text_full: bool = False,
    greps: tuple[str, ...] = (),
    ignore_case: bool = False,
    word_regexp: bool = False,
    edgar_rate: float = 10.0,
) -> DetailsSettings | None:
    """The demo's details, for the emulator's EDGAR (its URL is set once it listens)."""
    criteria = _criteria(with_details, items, insider_codes, min_value, sics)
    text, grep = _text(with_text, text_full, greps, ignore_case, word_regexp)
    if not (with_details or text):
        return None
    return DetailsSettings(
        user_agent=LOCAL_USER_AGENT,
        edgar_url="http://127.0.0.1",
        rate=edgar_rate,
        wait=details_wait,
        criteria=criteria if criteria.active else None,
        enrich=with_details,
        text=text,
        text_full=text_full,
        grep=grep,
    )


#: The User-Agent sent to an EDGAR on this machine when none is given.
LOCAL_USER_AGENT = "secfeed (an EDGAR on this machine) secfeed@localhost"


def _loopback(url: str) -> bool:
    """Whether ``url`` names this machine (127.0.0.0/8, ::1, localhost)."""
    from urllib.parse import urlsplit

    from ..feed.httpget import is_loopback

    return is_loopback((urlsplit(url).hostname or "").lower())


def _user_agent_problem(user_agent: str | None, which: str) -> str | None:
    """Why ``user_agent`` cannot be sent to EDGAR (``which`` option needs it), or None."""
    if not user_agent:
        from ..companies.update import FAIR_ACCESS

        return (
            f"{which} reads EDGAR, and SEC's fair-access rules require every automated"
            " client to say who it is: pass --user-agent 'Your Name you@example.com' (or set"
            f" SECFEED_USER_AGENT, or user-agent in the config file) ({FAIR_ACCESS})"
        )
    if "@" not in user_agent:
        return (
            f"--user-agent {user_agent!r} has no email address: SEC wants a name and a contact"
            " email, as in 'Your Name you@example.com'"
        )
    from ..common.escape import has_control

    if has_control(user_agent):
        return "--user-agent holds a control character"
    return None


def _item(text: str) -> str:
    """An 8-K item code as SEC writes it: ``5.02`` (``5.2`` and ``502`` too)."""
    import re

    t = text.strip()
    m = re.fullmatch(r"(\d{1,2})\.?(\d{1,2})", t)
    if m is None:
        raise ValueError(f"--item {text!r} is not an 8-K item (such as 2.02 or 5.02)")
    return f"{int(m.group(1))}.{int(m.group(2)):02d}"
