"""NATS options: ``relay --to`` and ``tail``/``snapshot --from``, checked before connecting."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from .groups import Built, F, environment, option_group
from .params import (
    DURATION,
    POSITIVE,
    NatsUrl,
    SourceUrl,
)

if TYPE_CHECKING:
    from ..broker import NatsSettings
    from ..common.settings import FromArchive


# -- NATS: secfeed relay --to, and tail/snapshot --from --


def _nats_common() -> list[Callable[[F], F]]:
    return [
        click.option(
            "--stream",
            "stream_name",
            default="SECFEED",
            show_default=True,
            metavar="NAME",
            help="The JetStream stream.",
        ),
        click.option(
            "--subject-prefix",
            default="secfeed.filings",
            show_default=True,
            metavar="P",
            help="Subjects are P.<form> (the stream holds P.>).",
        ),
        click.option(
            "--nats-creds",
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="NATS credentials.",
        ),
        click.option(
            "--nats-tls-ca",
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="CA certificates for tls:// NATS servers.",
        ),
    ]


def source_options(f: F) -> F:
    return option_group(
        "source",
        _source,
        [
            click.option(
                "--from",
                "from_urls",
                type=SourceUrl(),
                multiple=True,
                metavar="URL|PATH",
                help="Read the filings from the NATS JetStream stream `secfeed relay` fills"
                " (nats://[user:pass@]host:port; repeatable for a cluster), or from an"
                " archive (--archive PATH) and what is appended to it, not FinFeedAPI.",
            ),
            click.option(
                "--durable",
                metavar="NAME",
                help="With --from: a durable consumer that resumes where it stopped.",
            ),
            *_nats_common(),
        ],
    )(f)


def _source(
    from_urls: tuple[str, ...],
    durable: str | None,
    stream_name: str,
    subject_prefix: str,
    nats_creds: str | None,
    nats_tls_ca: str | None,
) -> Built[NatsSettings] | FromArchive | None:
    paths = [u for u in from_urls if "://" not in u]
    if not from_urls or paths:
        if durable:
            raise click.UsageError("--durable goes with --from nats://...")
        if not paths:
            return None
        if len(from_urls) > 1:
            raise click.UsageError("--from PATH reads one archive: give it once, without URLs")
        from ..common.settings import FromArchive

        return FromArchive(str(Path(paths[0]).expanduser()))
    return _nats_settings(
        from_urls, stream_name, subject_prefix, nats_creds, nats_tls_ca, durable=durable
    )


def relay_options(f: F) -> F:
    return option_group(
        "nats",
        _relay,
        [
            click.option(
                "--to",
                "to_urls",
                type=NatsUrl(),
                multiple=True,
                required=True,
                metavar="URL",
                help="NATS server: nats://[user:pass@]host:port (repeatable for a cluster).",
            ),
            *_nats_common(),
            click.option(
                "--dedupe-window",
                type=DURATION,
                default="1h",
                show_default=True,
                metavar="D",
                help="A new stream's de-duplication window (s, m, h, d).",
            ),
            click.option(
                "--max-unacked",
                type=POSITIVE,
                default=4096,
                show_default=True,
                metavar="N",
                help="Filings out without NATS's acknowledgement, at most; then the relay"
                " stops reading the feed until NATS catches up.",
            ),
            click.option(
                "--max-age",
                type=DURATION,
                default="7d",
                show_default=True,
                metavar="D",
                help="How long a new stream keeps a filing (s, m, h, d).",
            ),
            click.option(
                "--replicas",
                type=click.IntRange(1, 5),
                metavar="N",
                help="A new stream's copies, each on another server of a NATS cluster"
                " [default: as many as the cluster has, up to 3; 1 on a single server].",
            ),
        ],
    )(f)


def _relay(
    to_urls: tuple[str, ...],
    stream_name: str,
    subject_prefix: str,
    nats_creds: str | None,
    nats_tls_ca: str | None,
    dedupe_window: float,
    max_unacked: int,
    max_age: float,
    replicas: int | None,
) -> Built[NatsSettings]:
    return _nats_settings(
        to_urls,
        stream_name,
        subject_prefix,
        nats_creds,
        nats_tls_ca,
        dedupe_window=dedupe_window,
        max_age=max_age,
        max_unacked=max_unacked,
        replicas=replicas,
    )


def _nats_settings(
    urls: tuple[str, ...],
    stream: str,
    prefix: str,
    creds: str | None,
    tls_ca: str | None,
    **more: Any,
) -> Built[NatsSettings]:
    from ..broker import NatsSettings, NatsUnavailable, load_nats
    from ..feed.httpget import is_loopback

    try:
        load_nats()
    except NatsUnavailable as exc:
        raise click.UsageError(str(exc)) from None

    warnings = []
    secrets = environment().secrets
    for url in urls:
        secrets.add_url(url)  # nats://user:pass@host, or nats://TOKEN@host
        parts = urlsplit(url)
        if (
            parts.scheme == "nats"
            and (parts.username or creds)
            and not is_loopback(parts.hostname or "")
        ):
            warnings.append(
                f"credentials for {parts.hostname} go over plain nats://, readable by anyone"
                " on the way: use tls:// (and --nats-tls-ca for a private CA)"
            )
            break
    if creds:
        _check_creds(creds)
    if tls_ca:
        _check_ca(tls_ca)
    if not prefix or any(ch in prefix for ch in " *>") or prefix.endswith("."):
        raise click.UsageError(f"--subject-prefix {prefix!r} is not a NATS subject prefix")
    made = NatsSettings(
        servers=urls, stream=stream, prefix=prefix, creds=creds, tls_ca=tls_ca, **more
    )
    return Built(made, warnings)


def _check_creds(path: str) -> None:
    """A --nats-creds file that nats-py could not use fails at once, naming the file."""
    from ..common import config

    try:
        text = config.read_text_file(path, 64 << 10, "--nats-creds file")
    except config.ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if "BEGIN NATS USER JWT" not in text or "BEGIN USER NKEY SEED" not in text:
        raise click.UsageError(
            f"--nats-creds file {path} is not a NATS credentials file (a user JWT and an nkey"
            " seed, as `nsc generate creds` writes)"
        )
    try:
        import nkeys  # noqa: F401 - nats-py signs with it
    except ImportError:
        from ..extras import install_hint

        raise click.UsageError(
            "--nats-creds needs the nkeys library, part of the optional extra:"
            f" {install_hint('nats')}"
        ) from None


def _check_ca(path: str) -> None:
    """A --nats-tls-ca file that is not readable PEM fails at once, naming the file."""
    import ssl

    from ..common import config

    try:
        config.read_text_file(path, 4 << 20, "--nats-tls-ca file")
        ssl.create_default_context(cafile=path)
    except config.ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    except (ssl.SSLError, OSError) as exc:
        raise click.UsageError(
            f"--nats-tls-ca file {path} holds no usable CA certificate (PEM): {exc}"
        ) from None
