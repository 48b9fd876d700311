"""The config file and the API key: flag > environment > config file > default.

The file is TOML, with the long option names as keys. Keys at the top apply to every command
that has the option; a ``[tail]``, ``[snapshot]``, ``[demo]`` or ``[relay]`` table applies to
that command only, and wins over the top::

    url = "wss://api.sec.finfeedapi.com"
    api-key-file = "~/.config/secfeed/key"
    form = ["8-K", "10-K*"]

    [tail]
    format = "table"

    [snapshot]
    format = "ndjson"
    quiet = true

Click applies the precedence: values from here become the commands' ``default_map``, which sits
below the command line and the environment. No click import here: the CLI passes the values on.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Told of what is worth a warning (said when the run starts, through its diagnostics).
Warn = Callable[[str], None]

#: Config key -> (parameter name, accepted Python types, takes a list).
KEYS: dict[str, tuple[str, tuple[type, ...], bool]] = {
    "url": ("url", (str,), False),
    "api-key": ("api_key", (str,), False),
    "api-key-file": ("api_key_file", (str,), False),
    "key-in": ("key_in", (str,), False),
    "heartbeat": ("heartbeat", (bool,), False),
    "stall-timeout": ("stall_timeout", (int, float, str), False),
    "connect-timeout": ("connect_timeout", (int, float, str), False),
    "reconnect": ("reconnect", (bool,), False),
    "max-retries": ("max_retries", (int,), False),
    "ca-bundle": ("ca_bundle", (str,), False),
    "proxy": ("proxy", (str,), False),
    "form": ("forms", (str,), True),
    "exclude-form": ("exclude_forms", (str,), True),
    "cik": ("ciks", (str, int), True),
    "ticker": ("tickers", (str,), True),
    "watchlist": ("watchlist", (str,), False),
    "user-agent": ("user_agent", (str,), False),
    "details": ("with_details", (bool,), False),
    "backfill": ("backfill", (bool,), False),
    "details-wait": ("details_wait", (int, float, str), False),
    "edgar-url": ("edgar_url", (str,), False),
    "edgar-rate": ("edgar_rate", (int, float), False),
    "item": ("items", (str,), True),
    "insider-code": ("insider_codes", (str,), True),
    "min-value": ("min_value", (int, float), False),
    "sic": ("sics", (str, int), True),
    "no-amendments": ("no_amendments", (bool,), False),
    "since": ("since", (str,), False),
    "format": ("fmt", (str,), False),
    "latency": ("latency", (bool,), False),
    "utc": ("utc", (bool,), False),
    "timeout": ("timeout", (int, float, str), False),
    "state": ("state", (str,), False),
    "output": ("output_path", (str,), False),
    "skip-empty": ("skip_empty", (bool,), False),
    "quiet": ("quiet", (bool,), False),
    "verbose": ("verbose", (bool,), False),
    "raw": ("raw", (bool,), False),
    "count": ("count", (int,), False),
    "lines": ("lines", (int,), False),
    "duration": ("duration", (int, float, str), False),
    "settle": ("settle", (int, float, str), False),
    "no-backlog": ("no_backlog", (bool,), False),
    "backlog-only": ("backlog_only", (bool,), False),
    "rate": ("rate", (int, float), False),
    "buffer": ("buffer", (int,), False),
    "exec": ("exec_commands", (str,), True),
    "exec-jobs": ("exec_jobs", (int,), False),
    "exec-timeout": ("exec_timeout", (int, float, str), False),
    "exit-grace": ("exit_grace", (int, float, str), False),
    "notify": ("notify_urls", (str,), True),
    "notify-timeout": ("notify_timeout", (int, float, str), False),
    "bell": ("bell", (bool,), False),
    "highlight": ("highlight", (str,), True),
    "alert-backlog": ("alert_backlog", (bool,), False),
    "archive": ("archive", (str,), False),
    # NATS: tail/snapshot --from, and relay
    "from": ("from_urls", (str,), True),
    "durable": ("durable", (str,), False),
    "stream": ("stream_name", (str,), False),
    "subject-prefix": ("subject_prefix", (str,), False),
    "nats-creds": ("nats_creds", (str,), False),
    "nats-tls-ca": ("nats_tls_ca", (str,), False),
    "to": ("to_urls", (str,), True),
    "dedupe-window": ("dedupe_window", (str, int, float), False),
    "max-age": ("max_age", (str, int, float), False),
    "max-unacked": ("max_unacked", (int,), False),
    "replicas": ("replicas", (int,), False),
}
#: The largest config file read (1 MiB: a real one is a few hundred bytes).
MAX_CONFIG = 1 << 20
#: The largest API key file read, and the longest key taken (a key is a few dozen characters).
MAX_KEY_FILE = 64 << 10
MAX_KEY = 1024
#: The commands that read the config file; each may have a table of its own.
COMMANDS = ("tail", "snapshot", "demo", "relay", "ui")
#: Parameters that hold a path: ``~`` is expanded.
PATHS = (
    "archive",
    "api_key_file",
    "ca_bundle",
    "state",
    "output_path",
    "watchlist",
    "nats_creds",
    "nats_tls_ca",
)


class ConfigError(ValueError):
    """A config or key file problem; the message names the file (and key)."""


def default_path(env: dict[str, str] | None = None, app_dir: str | None = None) -> Path:
    """``$XDG_CONFIG_HOME/secfeed/config.toml``, else the platform's app dir for secfeed."""
    env = dict(os.environ) if env is None else env
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg) / "secfeed" / "config.toml"
    if app_dir is not None:
        return Path(app_dir) / "config.toml"
    return Path.home() / ".config" / "secfeed" / "config.toml"


def load(
    path: Path, command: str | None = None, warn: Warn | None = None
) -> tuple[dict[str, Any], set[str]]:
    """The parameter values a config file sets for ``command`` (its top-level keys, then its
    own table's), and the names set by its own table. Raises ConfigError naming the file
    (and table and key); ``warn`` is told of a file with a key that others can read."""
    if sys.version_info >= (3, 11):  # imported here: most runs have no config file
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    text = read_text_file(path, MAX_CONFIG, "config file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"config file {path} is not a config file: it nests too deeply") from None
    flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
    for name, value in data.items():
        if isinstance(value, dict) and name not in COMMANDS:
            raise ConfigError(
                f"config file {path}: unknown table [{name}] (known: {', '.join(COMMANDS)})"
            )
    values = _values(path, flat, "")
    own: dict[str, Any] = {}
    for name in COMMANDS:  # every table is checked, the command's own is used
        table = _values(path, data.get(name, {}), f"[{name}] ")
        if name == command:
            own = table
    if command == "snapshot" and values.get("fmt") in ("auto", "table"):
        del values["fmt"]  # tail's format, set for every command: snapshot keeps its default
    values.update(own)
    if "api_key" in values and warn is not None:
        warn_if_exposed(path, "config file", warn)
    return values, set(own)


def _values(path: Path, data: dict[str, Any], where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in KEYS:
            known = ", ".join(sorted(KEYS))
            raise ConfigError(f"config file {path}: {where}unknown key {key!r} (known: {known})")
        name, types, many = KEYS[key]
        items = value if many and isinstance(value, list) else [value]
        if not many and isinstance(value, list):
            items = [None]
        for item in items:
            if not isinstance(item, types) or (bool not in types and isinstance(item, bool)):
                want = " or ".join(t.__name__ for t in types) + (" (or a list)" if many else "")
                raise ConfigError(f"config file {path}: {where}key {key!r} must be {want}")
        if name in PATHS:
            value = str(Path(value).expanduser())
        values[name] = [str(i) for i in items] if many else value
    return values


def read_text_file(path: str | Path, limit: int, what: str) -> str:
    """A file secfeed reads as text: capped, UTF-8 (a byte-order mark dropped); ConfigError
    naming the file otherwise."""
    from .capped import FileTooLarge, read_limited, size_text

    try:
        data = read_limited(path, limit)
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except FileTooLarge:
        raise ConfigError(
            f"{what} {path} is larger than {size_text(limit)}: too large to be one"
        ) from None
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path} is not UTF-8 text") from None


def read_key_file(path: str, warn: Warn) -> str:
    text = read_text_file(Path(path).expanduser(), MAX_KEY_FILE, "API key file")
    key = text.strip()
    if not key or "\n" in key:
        raise ConfigError(f"API key file {path} must hold the key alone on one line")
    if len(key) > MAX_KEY:
        raise ConfigError(
            f"API key file {path} holds {len(key):,} characters on its line: longer than any"
            f" API key ({MAX_KEY} at most)"
        )
    warn_if_exposed(Path(path).expanduser(), "API key file", warn)
    return key


def warn_if_exposed(path: Path, what: str, warn: Warn) -> None:
    """Like ssh: a file holding a secret should not be readable by group or others."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warn(
            f"{what} {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )
