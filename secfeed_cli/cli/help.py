"""``--help``: the options under headings (filters and output first), each command's examples
at the top, its exit statuses at the end.

Click's own means, no other library: a command class (:class:`GroupedCommand`) whose options
are written in sections (``HelpFormatter.section``), each option under the heading of the
option group it belongs to (``groups.py`` records which). rich-click's panels would do the
same but restyle every help screen and add a dependency for it; click-option-group changes
how options are declared, which the groups already do their own way.
"""

from __future__ import annotations

from typing import Any

import click

EXIT_CODES_HELP = """\b
Exit status:
  0    done (--count, --duration, --backlog-only complete; downstream pipe closed)
  1    internal error, or output cannot be written (e.g. disk full)
  2    usage error (bad option or config)
  3    the API key was rejected
  4    could not connect, gave up reconnecting, or the connection ended (--no-reconnect)
  5    the server reported another error (--no-reconnect)
  6    another run holds the --state lock (snapshot: until --timeout)
  7    the archive cannot be written or read (full disk, newer schema, not an archive)
  129  hangup (SIGHUP); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM)"""

#: What ``secfeed ui`` can end with: no pipe downstream, no --state lock.
UI_EXIT_CODES_HELP = """\b
Exit status:
  0    quit (q)
  1    internal error
  2    usage error (bad option or config; no terminal)
  3    the API key was rejected
  4    could not connect, gave up reconnecting, or the connection ended (--no-reconnect)
  5    the server reported another error (--no-reconnect)
  7    the archive (--from) cannot be read
  129  hangup (SIGHUP, or the terminal closed); 130 interrupted (Ctrl-C); 143 terminated"""

#: Each option group (``groups.py``'s names) and its heading, in the order help shows them;
#: options of no group come last, under :data:`OTHER`.
HEADINGS: tuple[tuple[str, str], ...] = (
    ("filters", "Filters"),
    ("output", "Output"),
    ("run", "Run length and state"),
    ("details", "Details from EDGAR"),
    ("archive", "Archive"),
    ("alerts", "Alerts"),
    ("source", "Reading NATS or an archive instead of the feed"),
    ("nats", "NATS"),
    ("connection", "Connection"),
)
OTHER = "Other options"
#: Options declared on their own, and the heading they belong under.
LOOSE = {
    "output_path": "output",
    "state": "run",
    "skip_empty": "output",
    "timeout": "run",
    "latency": "output",
    "rate": "run",
    "in_ui": "output",
    "quiet": "output",
    "verbose": "output",
    "lines": "output",
    "serve": "output",
    "serve_host": "output",
    "capacity": "output",
}


def heading_of(name: str | None) -> str | None:
    """The option group an option (by its parameter name) is shown under, if any."""
    from .groups import GROUPS

    if name in ("archive", "backfill"):  # in the run's and the details' groups, shown apart
        return "archive"
    for group, takes, _ in GROUPS:
        if name in takes:
            return group
    return LOOSE.get(name or "")


class GroupedCommand(click.Command):
    """A command whose help has its examples first and its options under headings."""

    def __init__(self, *args: Any, examples: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.examples = examples

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_help_text(ctx, formatter)
        if self.examples:
            with formatter.section("Examples"):
                for line in self.examples.strip("\n").splitlines():
                    line = line.removeprefix("  ")  # the section indents them already
                    formatter.write((" " * formatter.current_indent + line).rstrip() + "\n")

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str | None, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                sections.setdefault(heading_of(param.name), []).append(record)
        for key, heading in (*HEADINGS, (None, OTHER)):
            rows = sections.pop(key, None)
            if rows:
                with formatter.section(heading):
                    formatter.write_dl(rows)
        for rows in sections.values():  # a group without a heading: never silently dropped
            with formatter.section(OTHER):
                formatter.write_dl(rows)


TAIL_EXAMPLES = """\
  secfeed tail --form 8-K,10-K*
  secfeed tail -n 20 --form 4 --state form4.state >> form4.ndjson
  secfeed tail | jq -r 'select(.form=="8-K") | .description'
  secfeed tail --backlog-only -f csv > recent.csv
"""


UI_EXAMPLES = """\
  secfeed ui --form 8-K,4 --watchlist tickers.txt
  secfeed ui --details --user-agent 'Your Name you@example.com'
  secfeed ui --from filings.db
  secfeed ui --serve 8000

Keys: space pause, / filter, n/N next match, Enter details, o open, y copy URL, m mark,
? all keys, q quit.
"""
UI_EPILOG = UI_EXIT_CODES_HELP


SNAPSHOT_EXAMPLES = """\
  secfeed snapshot -o filings.ndjson
  secfeed snapshot -f csv -o 8k.csv --form 8-K --state ~/.cache/secfeed-8k.state
  */10 * * * * secfeed snapshot -o /data/new.ndjson --state /data/state --skip-empty
"""
SNAPSHOT_EPILOG = EXIT_CODES_HELP.replace(
    "done (--count, --duration, --backlog-only complete; downstream pipe closed)",
    "the snapshot was written (or, with --skip-empty, there was nothing new)",
)


RELAY_EXAMPLES = """\
  secfeed relay --to nats://127.0.0.1:4222
  secfeed relay --to nats://a:4222 --to nats://b:4222 --form 8-K,10-K*
  secfeed tail --from nats://127.0.0.1:4222 --durable desk-1
"""


DEMO_EXAMPLES = """\
  secfeed demo
  secfeed demo --form 8-K --latency
  secfeed demo -f ndjson --count 5 | jq .form
"""
