"""A run as a command asks for it: one frozen :class:`Plan`, built once by each command
(``tail``, ``snapshot``, ``relay``, ``demo``, ``ui``) and carried out by ``execute.py``.

A new feature adds a field here, read where it is used, not a parameter to every call site.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from ..common.settings import (
    AlertSettings,
    DetailsSettings,
    FromArchive,
    OutputSettings,
    RunSettings,
)
from ..feed.links import ConnectOptions
from ..filtering.filters import FilingFilter

if TYPE_CHECKING:
    from ..broker import NatsSettings
    from ..common.files import State
    from ..details.edgar import EdgarClient
    from ..output import Sink, Status


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """Where the filings come from, what is done to them, where they go, and on what."""

    connection: ConnectOptions
    filters: FilingFilter
    output: OutputSettings
    settings: RunSettings
    #: ``--from``: a NATS stream or an archive instead of FinFeedAPI
    source: NatsSettings | FromArchive | None = None
    #: ``secfeed relay``: publish into a NATS stream instead of writing the output
    relay: NatsSettings | None = None
    #: ``--details``, ``--backfill``
    details: DetailsSettings | None = None
    #: ``--exec``, ``--notify``, ``--bell``, ``--highlight``
    alerts: AlertSettings | None = None
    #: ``--state``, locked and loaded: what it holds is skipped, what the output took is added
    state: State | None = None
    #: the state is saved as the run goes (``tail --state``; a snapshot saves it once its
    #: output is committed)
    checkpoint: bool = False
    #: the output is a terminal: the table is the live one (``color``: in colour)
    terminal: bool = False
    color: bool = False
    #: False: information lines only with -v (a snapshot from cron says nothing when all is well)
    chatty: bool = True
    #: a closed downstream pipe ends the run quietly (exit 0); False for a snapshot, which was
    #: then not delivered whole
    pipe_may_close: bool = True
    #: ``secfeed ui``: the sink is made from the run's status
    view: Callable[[Callable[[], Status]], Sink] | None = None
    #: the EDGAR client the ui shares with ``--details`` (one pace)
    edgar: EdgarClient | None = None
