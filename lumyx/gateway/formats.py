"""Wire formats as plug-ins: the translation each (client format, upstream
format) pair uses.

A client speaks one format — ``openai`` (Chat Completions, and the legacy
completions and embeddings endpoints) or ``anthropic`` (Messages) — and each
route's upstream speaks the format of its provider kind
(:data:`lumyx.providers.base.WIRE_OF_KIND`). :data:`PAIRS` gives, for each pair, a
:class:`Translation` of three parts:

* ``request(call, output_cap, upstream_model)`` → :class:`~lumyx.gateway.call.UpstreamRequest`:
  the operation and body to send, in the upstream's format. A request the
  upstream's format cannot express raises :class:`~lumyx.translate.TranslationError`
  (the client gets 400 naming the parameter if no other route serves it); an
  endpoint it has no counterpart for raises a non-retryable
  :class:`~lumyx.providers.base.UpstreamFailure`.
* ``response(call, meter, body)`` → the client's body, metering the upstream's
  answer on the way.
* ``stream(call, meter)`` → a shaper (:mod:`lumyx.gateway.streams`): upstream
  events in, client events out, metering on the way.

Same-format pairs are the pass-through rewrites (:mod:`.passthrough_openai`,
:mod:`.passthrough_anthropic`); the others compose them with the pure
translators of :mod:`lumyx.translate`, which hold the rules. Nothing else in
the gateway knows which formats exist: the pipeline looks the pair up, and a
pair missing from the table is an upstream that cannot serve the client's
endpoint (the next route is not tried for it).

The OpenAI Responses API, next
------------------------------
It comes in both directions, as a client format ``responses`` (``POST
/v1/responses``) and as a provider kind ``openai-responses`` (``base_url`` +
``/responses``). What it takes, and nothing more:

1. ``lumyx/translate/``: pure request, response and stream translators for
   responses → chat, chat → responses, responses → messages and messages →
   responses (the stream ones as state machines over decoded events, like
   :class:`~lumyx.translate.AnthropicToOpenAIStream`).
2. ``lumyx/gateway/passthrough_responses.py``: the pass-through rewrites of a
   Responses body (upstream model name, ``max_output_tokens`` capped at the
   model's limit, usage in every stream) and the meter reading its usage
   (``input_tokens``, ``output_tokens``, their details) and output items; and
   in :mod:`.streams`, the shapers of the five new pairs.
3. Five lines in :data:`PAIRS` below::

       ("responses", "openai"): Translation(responses→chat request, chat→responses response, shaper),
       ("responses", "anthropic"): Translation(responses→messages request, messages→responses response, shaper),
       ("openai", "responses"): Translation(chat→responses request, responses→chat response, shaper),
       ("anthropic", "responses"): Translation(messages→responses request, responses→messages response, shaper),
       ("responses", "responses"): Translation(passthrough_responses.request, .response, shaper),

4. Outside the gateway: ``lumyx/providers/openai_responses.py`` (an adapter
   posting to ``base_url + "/responses"``) with one line each in
   ``WIRE_OF_KIND`` (``"openai-responses": "responses"``) and ``ADAPTERS``;
   ``lumyx/wire/responses.py`` (what a valid request looks like) and a view
   in ``lumyx/api/`` that builds the call with ``client_format="responses"``
   and operation ``responses``; and the SSE writer of that client format in
   ``lumyx/api/respond.py`` (``event: <type>`` framing, as Anthropic's).

Routing, admission, holds, metering, settlement and the stream's failure
handling stay as they are: they never look at a format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lumyx.billing.arithmetic import DEFAULT_MAX_OUTPUT
from lumyx.gateway import passthrough_anthropic as anthropic_relay
from lumyx.gateway import passthrough_openai as openai_relay
from lumyx.gateway import streams
from lumyx.gateway.call import CallInput, UpstreamRequest
from lumyx.gateway.meter import Meter
from lumyx.providers.base import CHAT, MESSAGES, UpstreamFailure
from lumyx.translate import (
    anthropic_request_to_openai,
    anthropic_response_to_openai,
    openai_request_to_anthropic,
    openai_response_to_anthropic,
)


@dataclass(frozen=True, slots=True)
class Translation:
    """How a client of one format is served by an upstream of another (or the same)."""

    request: Callable[[CallInput, int | None, str], UpstreamRequest]
    response: Callable[[CallInput, Meter, dict], dict]
    stream: Callable[[CallInput, Meter], streams.Shaper]


def cannot_serve(call: CallInput) -> UpstreamFailure:
    """The failure of a route whose format has no counterpart of the client's endpoint."""
    return UpstreamFailure("unsupported", f"The model '{call.model.id}' cannot serve this endpoint.", retryable=False)


# -- OpenAI client, OpenAI upstream ---------------------------------------------


def _openai_request(call: CallInput, output_cap: int | None, upstream_model: str) -> UpstreamRequest:
    return UpstreamRequest(call.operation, *openai_relay.rewrite(call, output_cap, upstream_model, call.body))


# -- Anthropic client, Anthropic upstream ---------------------------------------


def _anthropic_request(call: CallInput, _output_cap: int | None, upstream_model: str) -> UpstreamRequest:
    return UpstreamRequest(call.operation, *anthropic_relay.rewrite(call, upstream_model, call.body))


# -- OpenAI chat client, Anthropic upstream -------------------------------------


def _chat_to_messages(call: CallInput, output_cap: int | None, upstream_model: str) -> UpstreamRequest:
    if call.operation != CHAT:
        raise cannot_serve(call)
    default = output_cap or min(call.model.max_output_tokens or DEFAULT_MAX_OUTPUT, DEFAULT_MAX_OUTPUT)
    body = openai_request_to_anthropic(call.body, default_max_tokens=default)
    return UpstreamRequest(MESSAGES, *anthropic_relay.rewrite(call, upstream_model, body))


def _messages_to_chat_response(call: CallInput, meter: Meter, body: dict) -> dict:
    return anthropic_response_to_openai(anthropic_relay.response(call, meter, body), model=call.model.id)


# -- Anthropic client, OpenAI upstream ------------------------------------------


def _messages_to_chat(call: CallInput, output_cap: int | None, upstream_model: str) -> UpstreamRequest:
    if call.operation != MESSAGES:
        raise cannot_serve(call)
    body = anthropic_request_to_openai(call.body)
    return UpstreamRequest(CHAT, *openai_relay.rewrite(call, output_cap, upstream_model, body))


def _chat_to_messages_response(call: CallInput, meter: Meter, body: dict) -> dict:
    return openai_response_to_anthropic(openai_relay.response(call, meter, body), model=call.model.id)


# (client format, upstream format) -> how the pair is served.
PAIRS: dict[tuple[str, str], Translation] = {
    ("openai", "openai"): Translation(_openai_request, openai_relay.response, streams.OpenAIToOpenAI),
    ("anthropic", "anthropic"): Translation(_anthropic_request, anthropic_relay.response, streams.AnthropicToAnthropic),
    ("openai", "anthropic"): Translation(_chat_to_messages, _messages_to_chat_response, streams.AnthropicToOpenAI),
    ("anthropic", "openai"): Translation(_messages_to_chat, _chat_to_messages_response, streams.OpenAIToAnthropic),
}
