"""``--config``: the TOML file's values as click's ``default_map``, below flags and environment.

The option is eager, so the file's values are in place before the other options resolve; a bad
key or value is a usage error naming the file and the key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .groups import F
from .params import (
    EnvOption,
)

if TYPE_CHECKING:
    pass


def _load_config(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from pathlib import Path

    from ..common import config
    from .groups import environment

    path = (
        Path(value)
        if value is not None
        else config.default_path(app_dir=click.get_app_dir("secfeed"))
    )
    if value is None and not path.exists():  # the default file is optional, --config is not
        return None
    command = ctx.command.name
    try:
        values, own = config.load(path, command, environment().warnings.append)
    except config.ConfigError as exc:
        raise click.UsageError(str(exc), ctx) from None
    options = {p.name: p for p in ctx.command.params}
    defaults = {}
    for name, value in values.items():
        key = next(k for k, (n, _, _) in config.KEYS.items() if n == name)
        option = options.get(name)
        if option is None:
            if name in own:  # in this command's own table
                raise click.UsageError(
                    f"config file {path}: [{command}] key {key!r}: secfeed {command}"
                    " has no such option",
                    ctx,
                )
            continue  # a top-level key for another command
        try:  # checked here, so that an error names the file rather than an option
            option.type_cast_value(ctx, value)
        except click.BadParameter as exc:
            raise click.UsageError(f"config file {path}: key {key!r}: {exc.message}", ctx) from None
        defaults[name] = value
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return str(path)


def config_option(f: F) -> F:
    return click.option(
        "--config",
        type=click.Path(dir_okay=False),
        cls=EnvOption,
        envvar="SECFEED_CONFIG",
        show_envvar=True,
        is_eager=True,
        expose_value=False,
        callback=_load_config,
        help="TOML config file [default: $XDG_CONFIG_HOME/secfeed/config.toml].",
    )(f)
