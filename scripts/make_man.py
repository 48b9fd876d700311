#!/usr/bin/env python3
"""Generate man/secfeed.1 from the click definitions plus the fixed sections below.

    python scripts/make_man.py            # rewrite man/secfeed.1
    python scripts/make_man.py --check    # exit 1 if man/secfeed.1 is out of date

tests/test_docs.py runs the check, so the page cannot drift from the options.
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from secfeed_cli.cli import cli  # noqa: E402
from secfeed_cli.errors import ExitCode  # noqa: E402
from secfeed_cli.output.records import COLUMNS  # noqa: E402

MAN = ROOT / "man" / "secfeed.1"
DATE = "2026-11-25"  # of the last change to the page's fixed text
COMMANDS = (
    "tail",
    "ui",
    "snapshot",
    "demo",
    "serve",
    "relay",
    "tickers update",
    "tickers info",
    "tickers lookup",
    "archive stats",
    "archive query",
    "archive search",
)


def esc(text: str) -> str:
    """Escape text for roff: backslashes, and leading dots or quotes."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.splitlines():
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def option_entry(param: click.Parameter, ctx: click.Context) -> list[str]:
    assert isinstance(param, click.Option)
    names = ", ".join(f"\\fB{esc(o)}\\fR" for o in [*param.opts, *param.secondary_opts])
    metavar = ""
    if not param.is_flag:
        metavar = f" \\fI{esc(param.make_metavar(ctx))}\\fR"
    out = [".TP", names + metavar]
    text = param.help or ""
    extra = []
    if param.envvar:
        envs = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar)
        extra.append("env: " + ", ".join(envs))
    default = param.default
    unset = default is None or "UNSET" in repr(default) or default in ((), [])
    if not unset and not param.is_flag:
        extra.append(f"default: {default}")
    elif param.is_flag and param.secondary_opts:
        extra.append("default: " + ("on" if param.default else "off"))
    if extra:
        text += " [" + "; ".join(extra) + "]"
    out.append(esc(text.strip()))
    return out


def command_section(name: str) -> list[str]:
    group, _, sub = name.partition(" ")
    command = cli.commands[group]
    parent = click.Context(cli, info_name="secfeed")
    if sub:
        assert isinstance(command, click.Group)
        parent = click.Context(command, info_name=group, parent=parent)
        command = command.commands[sub]
    ctx = click.Context(command, info_name=sub or name, parent=parent)
    help_text = (command.help or "").split("\n\n")[0].strip()
    args = "".join(
        f" \\fI{esc(p.make_metavar(ctx))}\\fR"
        for p in command.params
        if isinstance(p, click.Argument)
    )
    out = [f".SS secfeed {name} [OPTIONS]{args}", esc(help_text)]
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            out += option_entry(param, ctx)
    return out


STATIC_OUTPUT = [
    ".SH OUTPUT",
    "With \\fB\\-f ndjson\\fR (the default when stdout is not a terminal) each filing is one "
    "JSON object on one line, UTF\\-8, keys always in this order:",
    ".TP",
    "\\fBaccession_no\\fR",
    "SEC accession number NNNNNNNNNN\\-NN\\-NNNNNN; the de\\-duplication key.",
    ".TP",
    "\\fBform\\fR",
    "Form type as the SEC names it (8\\-K, 10\\-K/A, SCHEDULE 13G/A).",
    ".TP",
    "\\fBcik\\fR",
    "Filer CIK, an integer.",
    ".TP",
    "\\fBcompany\\fR",
    "The filer's name: from SEC's CIK map (company_tickers.json) when the CIK is in it, else "
    "the name in the SEC description, else null.",
    ".TP",
    "\\fBticker\\fR",
    "The CIK's primary ticker (the first SEC lists for it), or null.",
    ".TP",
    "\\fBdescription\\fR",
    "The title the SEC publishes.",
    ".TP",
    "\\fBfiling_date\\fR",
    "YYYY\\-MM\\-DD (the wire's \\fBfilling_date\\fR, spelled correctly).",
    ".TP",
    "\\fBaccepted_time\\fR",
    "When the SEC accepted the filing: RFC 3339 UTC as below, or YYYY\\-MM\\-DD when the "
    "server sends only a date.",
    ".TP",
    "\\fBdiscovered_time\\fR",
    "When FinFeedAPI first saw it: RFC 3339 UTC with T and Z and the fraction digits as "
    "received; an offset or a space separator is converted to that form.",
    ".TP",
    "\\fBis_historical\\fR",
    "true for the backlog sent on connecting, false for live filings.",
    ".TP",
    "\\fBurl\\fR",
    "The EDGAR filing index page, built from cik and accession_no.",
    ".TP",
    "\\fBreceived_time\\fR, \\fBlatency_ms\\fR",
    "With \\fB\\-\\-latency\\fR: local receive time (RFC 3339 UTC) and receive time minus "
    "discovered_time in milliseconds.",
    ".TP",
    "\\fBdetails\\fR",
    "With \\fB\\-\\-details\\fR, for Forms 3, 4, 5, 8\\-K and Schedules 13D/G (and "
    "amendments): \\fBstatus\\fR (ok, deferred, unavailable, error, the last three with a "
    "\\fBreason\\fR) and, when ok, \\fBsummary\\fR and what the document says. Forms 3/4/5: "
    "\\fBissuer\\fR (cik, name, ticker, sic), \\fBowners\\fR (cik, name, roles among "
    "director, officer, ten_percent_owner, other; title), \\fBtransactions\\fR (table "
    "non_derivative or derivative, date, security, code, shares, value, price or null, "
    "acquired_disposed A or D, shares_after, value_after, direct_indirect, nature, footnotes; "
    "derivative rows also exercise_price, exercisable, expires, underlying, "
    "underlying_shares), \\fBholdings\\fR, \\fBfootnotes\\fR (by id), "
    "\\fBrule_10b5_1\\fR, \\fBremarks\\fR, \\fBform\\fR, \\fBperiod\\fR. 8\\-K: "
    "\\fBitems\\fR (codes such as 5.02), \\fBitem_names\\fR, \\fBsic\\fR, "
    "\\fBperiod\\fR. Schedules 13D/G: \\fBissuer\\fR (cik, name, cusip), \\fBsecurity\\fR, "
    "\\fBevent_date\\fR, \\fBpersons\\fR (cik, name, amount, percent, types; joint filers "
    "never summed). CSV has \\fBdetails_status\\fR and \\fBdetails_summary\\fR columns "
    "instead.",
    ".PP",
    "Further fields sent by the server follow unchanged. \\fB\\-\\-raw\\fR prints each filing "
    "frame exactly as received instead, one per line (a frame holding line breaks is "
    "re\\-encoded compactly). \\fB\\-f csv\\fR writes a header row and the columns above (not "
    "the extra fields) with RFC 4180 quoting and CRLF line ends; control characters are "
    "written as visible escapes and a cell starting with =, +, \\-, @, tab or CR gets a "
    "leading ' (CSV injection). \\fB\\-f json\\fR (snapshot only) writes one JSON array. "
    "Diagnostics go to standard error only. A signal never cuts a line in half.",
]

EXIT_TEXT = {
    ExitCode.OK: "Done: \\-\\-count, \\-\\-duration or \\-\\-backlog\\-only complete, snapshot "
    "written, or the downstream pipe closed.",
    ExitCode.ERROR: "Internal error, or output cannot be written (for example, disk full).",
    ExitCode.USAGE: "Usage error: bad option, URL, form pattern, CIK, config file, or a missing "
    "API key.",
    ExitCode.AUTH: "The API key was rejected (never retried).",
    ExitCode.CONNECT: "Could not connect, gave up reconnecting, the connection ended under "
    "\\-\\-no\\-reconnect, the server redirected (redirects are not followed), or (snapshot) "
    "the backlog was not complete before \\-\\-timeout.",
    ExitCode.SERVER_ERROR: "The server reported another error under \\-\\-no\\-reconnect.",
    ExitCode.BUSY: "(snapshot) Another run held the \\-\\-state lock until \\-\\-timeout.",
    ExitCode.ARCHIVE: "The archive cannot be written or read: a full disk, a read\\-only file, a"
    " schema newer than this secfeed, or a file that is not a secfeed archive.",
    ExitCode.HANGUP: "Hung up (SIGHUP), handled like SIGTERM.",
    ExitCode.INTERRUPTED: "Interrupted (SIGINT, Ctrl\\-C).",
    ExitCode.TERMINATED: "Terminated (SIGTERM).",
}

STATIC_TAIL = [
    ".SH ENVIRONMENT",
    ".TP",
    "\\fBFINFEED_API_KEY\\fR",
    "The API key (as \\fB\\-\\-api\\-key\\fR).",
    ".TP",
    "\\fBSECFEED_URL\\fR, \\fBSECFEED_FORMAT\\fR, \\fBSECFEED_CONFIG\\fR",
    "As \\fB\\-\\-url\\fR, \\fB\\-\\-format\\fR and \\fB\\-\\-config\\fR.",
    ".TP",
    "\\fBSSL_CERT_FILE\\fR",
    "As \\fB\\-\\-ca\\-bundle\\fR.",
    ".TP",
    "\\fBHTTPS_PROXY\\fR, \\fBHTTP_PROXY\\fR, \\fBNO_PROXY\\fR",
    "Proxies for wss:// and ws:// URLs, and hosts to reach directly.",
    ".TP",
    "\\fBXDG_CONFIG_HOME\\fR",
    "Where the config file is looked for.",
    ".TP",
    "\\fBNO_COLOR\\fR, \\fBFORCE_COLOR\\fR, \\fBTERM\\fR",
    "Colour in the table (as rich honours them) and in the prefixes of status lines on "
    "standard error.",
    ".TP",
    "\\fBSECFEED_DEBUG\\fR",
    "Show a traceback for internal errors.",
    ".SH FILES",
    ".TP",
    "\\fI$XDG_CONFIG_HOME/secfeed/config.toml\\fR",
    "TOML, flat, keys are the long option names (url, api\\-key, api\\-key\\-file, key\\-in, "
    "heartbeat, stall\\-timeout, connect\\-timeout, reconnect, max\\-retries, ca\\-bundle, "
    "proxy, form, "
    "exclude\\-form, cik, no\\-amendments, format, latency, timeout, state). Precedence: "
    "flag, then environment, then config file, then default. Without XDG_CONFIG_HOME the "
    "platform's application directory is used (~/.config/secfeed on Linux). A config or key "
    "file readable by group or others gets a warning.",
    ".SH EXAMPLES",
    "Live table in a terminal:",
    ".PP",
    ".RS",
    "secfeed tail \\-\\-form 8\\-K,10\\-K*",
    ".RE",
    ".PP",
    "Descriptions of new 8\\-Ks with jq, and a case\\-insensitive grep:",
    ".PP",
    ".RS",
    ".nf",
    "secfeed tail | jq \\-r 'select(.form==\"8\\-K\") | .description'",
    "secfeed tail \\-\\-form 8\\-K | grep \\-i \\-\\-line\\-buffered merger",
    ".fi",
    ".RE",
    ".PP",
    "From cron, every ten minutes, only what is new, never a half\\-written file:",
    ".PP",
    ".RS",
    ".nf",
    "*/10 * * * * secfeed snapshot \\-o /data/new.ndjson \\e",
    "    \\-\\-state /data/secfeed.state \\-\\-skip\\-empty",
    ".fi",
    ".RE",
    ".PP",
    "Offline, against the built\\-in emulator:",
    ".PP",
    ".RS",
    ".nf",
    "secfeed serve \\-\\-port 8765 \\-\\-rate 2 &",
    "secfeed tail \\-\\-url ws://127.0.0.1:8765 \\-n 5 | jq .form",
    ".fi",
    ".RE",
    ".SH SEE ALSO",
    "\\fBjq\\fR(1), \\fBcron\\fR(8), \\fBwscat\\fR(1).",
    "FinFeedAPI SEC WebSocket documentation: https://docs.finfeedapi.com/sec\\-api/websocket/",
]


def render() -> str:
    lines = [
        f'.TH SECFEED 1 "{DATE}" "secfeed {version("secfeed-cli")}" "User Commands"',
        ".SH NAME",
        "secfeed \\- watch SEC filings arrive in real time from the FinFeedAPI SEC WebSocket",
        ".SH SYNOPSIS",
        "\\fBsecfeed tail\\fR [\\fIOPTIONS\\fR]",
        ".br",
        "\\fBsecfeed ui\\fR [\\fIOPTIONS\\fR]",
        ".br",
        "\\fBsecfeed snapshot\\fR [\\fIOPTIONS\\fR]",
        ".br",
        "\\fBsecfeed demo\\fR [\\fIOPTIONS\\fR]",
        ".br",
        "\\fBsecfeed serve\\fR [\\fIOPTIONS\\fR]",
        ".br",
        "\\fBsecfeed relay\\fR \\fB\\-\\-to\\fR \\fIURL\\fR [\\fIOPTIONS\\fR]",
        ".br",
        "\\fBsecfeed tickers\\fR \\fBupdate\\fR | \\fBinfo\\fR | \\fBlookup\\fR \\fIQUERY...\\fR",
        ".br",
        "\\fBsecfeed\\fR \\fB\\-\\-version\\fR | \\fB\\-\\-help\\fR",
        ".SH DESCRIPTION",
        "\\fBsecfeed\\fR connects to the FinFeedAPI SEC WebSocket (wss://api.sec.finfeedapi.com), "
        "prints the short backlog of recent filings, then every new filing as it is discovered, "
        "until stopped: as a live table on a terminal, NDJSON or CSV in a pipe. It reconnects "
        "with backoff, de\\-duplicates by accession number across connections, and warns when "
        "an outage may have lost filings. \\fBsecfeed serve\\fR is a local emulator of the "
        "stream with real EDGAR sample filings; \\fBsecfeed demo\\fR runs the table against it. "
        "\\fBsecfeed ui\\fR shows the feed in a window with keys (pause, filter, details, open; "
        "\\fB?\\fR lists them), from the optional extra secfeed\\-cli[ui]"
        " (pip install 'secfeed\\-cli[ui]'; from a clone, pip install \\-e '.[ui]').",
        ".SH COMMANDS",
    ]
    for name in COMMANDS:
        lines += command_section(name)
    lines += STATIC_OUTPUT
    lines += [".SH EXIT STATUS"]
    for code, text in EXIT_TEXT.items():
        lines += [".TP", f"\\fB{int(code)}\\fR", text]
    lines += STATIC_TAIL
    assert all(c in "\n".join(STATIC_OUTPUT) for c in COLUMNS)
    return "\n".join(lines) + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not MAN.exists() or MAN.read_text() != text:
            print("man/secfeed.1 is out of date: run python scripts/make_man.py", file=sys.stderr)
            return 1
        return 0
    MAN.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
