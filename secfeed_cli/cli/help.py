"""The words of ``--help`` beyond the options: exit statuses and each command's examples."""

from __future__ import annotations

EXIT_CODES_HELP = """\b
Exit status:
  0    done (--count, --duration, --backlog-only complete; downstream pipe closed)
  1    internal error, or output cannot be written (e.g. disk full)
  2    usage error (bad option or config)
  3    the API key was rejected
  4    could not connect, gave up reconnecting, or the connection ended (--no-reconnect)
  5    the server reported another error (--no-reconnect)
  6    another run holds the --state lock (snapshot: until --timeout)
  129  hangup (SIGHUP); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM)"""


TAIL_EPILOG = (
    """\b
Examples:
  secfeed tail --form 8-K,10-K*
  secfeed tail -n 20 --form 4 --state form4.state >> form4.ndjson
  secfeed tail | jq -r 'select(.form=="8-K") | .description'
  secfeed tail --backlog-only -f csv > recent.csv

"""
    + EXIT_CODES_HELP
)


UI_EPILOG = (
    """\b
Examples:
  secfeed ui --form 8-K,4 --watchlist tickers.txt
  secfeed ui --details --user-agent 'Your Name you@example.com'
  secfeed ui --from filings.db
  secfeed ui --serve 8000

Keys: space pause, / filter, n/N next match, Enter details, o open, y copy URL, m mark,
? all keys, q quit.

"""
    + EXIT_CODES_HELP
)


SNAPSHOT_EPILOG = """\b
Examples:
  secfeed snapshot -o filings.ndjson
  secfeed snapshot -f csv -o 8k.csv --form 8-K --state ~/.cache/secfeed-8k.state
  */10 * * * * secfeed snapshot -o /data/new.ndjson --state /data/state --skip-empty

""" + EXIT_CODES_HELP.replace(
    "done (--count, --duration, --backlog-only complete; downstream pipe closed)",
    "the snapshot was written (or, with --skip-empty, there was nothing new)",
)


RELAY_EPILOG = (
    """\b
Examples:
  secfeed relay --to nats://127.0.0.1:4222
  secfeed relay --to nats://a:4222 --to nats://b:4222 --form 8-K,10-K*
  secfeed tail --from nats://127.0.0.1:4222 --durable desk-1

"""
    + EXIT_CODES_HELP
)


DEMO_EPILOG = (
    """\b
Examples:
  secfeed demo
  secfeed demo --form 8-K --latency
  secfeed demo -f ndjson --count 5 | jq .form

"""
    + EXIT_CODES_HELP
)
