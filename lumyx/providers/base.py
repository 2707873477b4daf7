"""What every provider adapter returns, and how one route fails."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

# The wire format each provider kind speaks.
WIRE_OF_KIND = {"openai": "openai", "openai-responses": "responses", "anthropic": "anthropic", "local": "openai"}

# Operations an adapter can be asked for.
CHAT, COMPLETIONS, EMBEDDINGS, MESSAGES, COUNT_TOKENS, RESPONSES = (
    "chat",
    "completions",
    "embeddings",
    "messages",
    "count_tokens",
    "responses",
)


class UpstreamFailure(Exception):
    """One route failed before anything reached the client.

    ``retryable`` says whether the next route should be tried; ``status`` is
    the upstream's HTTP status when it answered one.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = True,
        retry_after: str | None = None,
        param: str | None = None,
    ):
        super().__init__(message)
        self.reason = reason  # connect | timeout | status | protocol | unsupported
        self.message = message
        self.param = param  # the client's parameter at fault, for unsupported requests
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass
class UpstreamReply:
    """A successful upstream answer: a decoded body, or a stream of decoded events.

    Stream events are the upstream's own payloads: OpenAI chunks, or Anthropic
    event objects (their ``type`` is the SSE event name).
    """

    body: dict | None = None
    events: Iterator[dict] | None = None
    headers: dict = field(default_factory=dict)
    close: Callable[[], None] = lambda: None
    # Safe from another greenlet while events() is blocked reading: cuts the connection.
    cancel: Callable[[], None] = lambda: None
