"""One client request's journey through the gateway, as plain data."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from lumyx.accounts.keys import KeyContext
from lumyx.catalog.snapshot import ModelInfo, Route


@dataclass
class Usage:
    """Tokens of one request, as the upstream reported them (or estimated)."""

    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    reported: bool = False  # False: counted locally because the upstream gave none


@dataclass
class Call:
    key: KeyContext
    model: ModelInfo
    operation: str  # chat | completions | embeddings | messages | count_tokens
    client_wire: str  # openai | anthropic
    body: dict
    stream: bool = False
    client_headers: dict = field(default_factory=dict)
    include_usage: bool = False
    exclude_reasoning: bool = False
    thinking_used: bool = False
    request_id: str = field(default_factory=lambda: "req_" + uuid.uuid4().hex)
    started: float = field(default_factory=time.perf_counter)
    route: Route | None = None
    usage: Usage = field(default_factory=Usage)
    status: int = 200
    error_code: str | None = None
    partial: bool = False
    output_parts: list[str] = field(default_factory=list)  # output text, counted when no usage is reported
    hold: int = 0  # µcr reserved for this call (priced models)
    output_cap: int | None = None  # max_tokens the balance affords, when the client set none
    free_day: str | None = None  # the local day counted against the free-model cap
    client_gone: bool = False  # the client closed its connection mid-stream
    abort_upstream: Callable[[], None] | None = None  # drops the upstream stream in flight
    finished: bool = False

    @property
    def latency_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)
