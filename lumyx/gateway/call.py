"""One client request's call through the gateway, as plain data split by writer.

* :class:`CallInput` — what the client asked, frozen once the view has read
  and checked the request (the pipeline swaps in a copy naming the fallback
  model that served, if one did).
* :class:`~lumyx.billing.admission.Admission` — what billing held or counted
  for it (written by billing's admission only; the pipeline keeps it).
* :class:`~lumyx.gateway.meter.Meter` — the tokens and output the upstream's
  answer showed (written by the response and stream shapers only).
* :class:`Outcome` — which route served it, how it ended, what it used
  (written by the pipeline only).
* :class:`ClientLink` — whether the client is still there (written by the
  client watcher of the API layer only).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from lumyx.accounts.keys import KeyContext
from lumyx.billing import arithmetic
from lumyx.billing.admission import NOTHING, Admission
from lumyx.catalog.snapshot import ModelInfo, Route
from lumyx.db.models._types import utcnow
from lumyx.gateway.meter import Meter, Usage
from lumyx.routing.preferences import Preferences


def _request_id() -> str:
    """``req_`` and 32 hex digits: the time in milliseconds (48 bits), then 80 random
    bits (UUIDv7's order). Ids made later sort later, so the rows keyed by them (holds,
    usage rows, ledger refs, stored responses) are added at the end of their indexes
    instead of at random places in them: each write dirties fewer pages, and an index
    of millions of rows keeps its working set small."""
    return f"req_{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


@dataclass(frozen=True, slots=True)
class CallInput:
    """The client's request, as the gateway serves it."""

    key: KeyContext
    model: ModelInfo
    operation: str  # chat | completions | embeddings | messages | count_tokens | responses
    client_format: str  # the wire format the client speaks: openai | anthropic | responses
    body: dict
    stream: bool = False
    client_headers: dict = field(default_factory=dict)  # forwarded to upstreams of the same format
    include_usage: bool = False  # stream_options.include_usage: the client wants the usage chunk
    exclude_reasoning: bool = False  # reasoning.exclude: reasoning is used but not shown
    preferences: Preferences | None = None  # the client's ``provider`` object
    fallbacks: tuple[ModelInfo, ...] = ()  # the client's ``models``: tried in order after ``model``
    request_id: str = field(default_factory=_request_id)
    started: float = field(default_factory=time.perf_counter)
    received_at: datetime = field(default_factory=utcnow)  # the usage row's time: calls list in the order made

    def elapsed_ms(self) -> int:
        """Whole milliseconds since the request arrived, rounded up: anything measured
        is at least 1 (a stream's first event within a millisecond is not "0 ms")."""
        return math.ceil((time.perf_counter() - self.started) * 1000)


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """What one route is sent: an operation of the upstream's format and its body."""

    operation: str
    body: dict
    thinking: bool = False  # the request asks the upstream to reason


@dataclass(slots=True)
class Outcome:
    """How the call ended; the pipeline's own record."""

    route: Route | None = None  # the route that answered
    status: int = 200
    error_code: str | None = None
    partial: bool = False  # a stream that ended before the answer was complete
    thinking_requested: bool = False  # a route was asked to reason
    usage: Usage | None = None  # the tokens billed, once the call finished
    finished: bool = False
    # What the answers showed (lumyx.gateway.answers): the upstream's own id for its
    # answer, the finish reason the client got and the upstream's own, and ms from the
    # request to the first event the client was sent (streams only).
    upstream_id: str | None = None
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    first_event_ms: int | None = None


class ClientLink:
    """The client's connection while its stream waits on the upstream.

    Only the client watcher writes ``gone``; while a stream is open the
    pipeline lends the link the function that drops the upstream connection,
    which the watcher calls when the client leaves.
    """

    __slots__ = ("_drop_upstream", "gone")

    def __init__(self) -> None:
        self.gone = False
        self._drop_upstream: Callable[[], None] | None = None

    def lend(self, drop_upstream: Callable[[], None] | None) -> None:
        """The pipeline: what to call should the client leave now (None: nothing)."""
        self._drop_upstream = drop_upstream

    def client_left(self) -> None:
        """The watcher: the client closed its connection."""
        self.gone = True
        drop = self._drop_upstream
        if drop is not None:
            drop()


@dataclass(slots=True)
class Call:
    """A call's parts, each with its one writer."""

    input: CallInput
    meter: Meter = field(default_factory=Meter)
    outcome: Outcome = field(default_factory=Outcome)
    link: ClientLink = field(default_factory=ClientLink)
    admission: Admission = NOTHING  # billing's answer, kept by the pipeline
    trace: object | None = None  # the call's span, when traces are exported (lumyx.observability.tracing)

    @property
    def request_id(self) -> str:
        return self.input.request_id

    @property
    def usage(self) -> Usage:
        """The tokens billed once the call finished; until then, those metered so far."""
        return self.outcome.usage or self.meter.usage

    @property
    def cost(self) -> int:
        """What the call is charged, µcr (once finished: what its settlement charged)."""
        return arithmetic.charge(self.input.model, self.usage).total

    @property
    def latency_ms(self) -> int:
        return self.input.elapsed_ms()


def new_call(
    key: KeyContext,
    model: ModelInfo,
    operation: str,
    client_format: str,
    body: dict,
    *,
    stream: bool = False,
    client_headers: dict | None = None,
    preferences: Preferences | None = None,
    fallbacks: tuple[ModelInfo, ...] = (),
) -> Call:
    """A call of a checked request. OpenAI clients' ``stream_options.include_usage``
    and ``reasoning.exclude`` are read here, once."""
    include_usage = exclude_reasoning = False
    if client_format == "openai":
        include_usage = (body.get("stream_options") or {}).get("include_usage") is True
        reasoning = body.get("reasoning")
        exclude_reasoning = isinstance(reasoning, dict) and reasoning.get("exclude") is True
    return Call(
        CallInput(
            key=key,
            model=model,
            operation=operation,
            client_format=client_format,
            body=body,
            stream=stream,
            client_headers=client_headers or {},
            include_usage=include_usage,
            exclude_reasoning=exclude_reasoning,
            preferences=preferences,
            fallbacks=fallbacks,
        )
    )
