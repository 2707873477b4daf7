"""Wire formats as plug-ins: the translation each (client format, upstream
format) pair uses.

A client speaks one format — ``openai`` (Chat Completions, and the legacy
completions and embeddings endpoints), ``anthropic`` (Messages) or
``responses`` (the OpenAI Responses API) — and each
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

The OpenAI Responses API
------------------------
As an upstream (provider kind ``openai-responses``, wire format ``responses``)
it serves both client formats through the chat pair: a chat request gets the
OpenAI pass-through rewrites (:mod:`.passthrough_openai`), then becomes a
Responses request (:func:`~lumyx.translate.chat_request_to_responses`); the
answer becomes a chat answer (:func:`~lumyx.translate.responses_response_to_chat`,
:class:`~lumyx.translate.ResponsesToChatStream`), metered as one — the Responses
usage (``input_tokens``, ``output_tokens`` and their cached and reasoning
details) read through the chat usage it maps to. A Messages client is composed
on top: messages → chat → responses, and responses → chat → messages, the
stream through :class:`~lumyx.translate.OpenAIToAnthropicStream`.

As a client format (``POST /v1/responses``, client format ``responses``,
operation ``responses``) it is served by every kind of upstream:

* a Responses upstream gets the request passed through
  (:mod:`.passthrough_responses`: upstream model, ``store: false``, the
  output limit; the answer restamped with the gateway's response id);
* a chat upstream gets it as a chat request
  (:func:`~lumyx.translate.responses_request_to_chat`, then the OpenAI
  pass-through rewrites), and the answer back as a Response
  (:func:`~lumyx.translate.chat_response_to_responses`,
  :class:`~lumyx.translate.ChatToResponsesStream`);
* a Messages upstream through the chat pair: responses → chat → messages,
  and messages → chat → responses.

The request arrives expanded (:mod:`lumyx.responses.conversation`: the stored
conversation of ``previous_response_id`` prepended, references resolved, the
gateway's sealed reasoning opened), so no upstream is asked to keep state; the
answer is sealed and stored on its way to the client
(:mod:`lumyx.responses.keeping`).

Routing, admission, holds, metering, settlement and the stream's failure
handling stay as they are: they never look at a format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lumyx.billing.arithmetic import DEFAULT_MAX_OUTPUT
from lumyx.gateway import passthrough_anthropic as anthropic_relay
from lumyx.gateway import passthrough_openai as openai_relay
from lumyx.gateway import passthrough_responses as responses_relay
from lumyx.gateway import streams
from lumyx.gateway.call import CallInput, UpstreamRequest
from lumyx.gateway.meter import Meter
from lumyx.providers.base import CHAT, MESSAGES, RESPONSES, UpstreamFailure
from lumyx.translate import (
    anthropic_request_to_openai,
    anthropic_response_to_openai,
    chat_request_to_responses,
    chat_response_to_responses,
    openai_request_to_anthropic,
    openai_response_to_anthropic,
    responses_request_to_chat,
    responses_response_to_chat,
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


# -- OpenAI chat client, Responses upstream ------------------------------------
# The chat body gets the OpenAI pass-through rewrites, then becomes a Responses
# request; the answer becomes a chat answer, metered as one.


def _chat_to_responses(call: CallInput, output_cap: int | None, upstream_model: str) -> UpstreamRequest:
    if call.operation != CHAT:
        raise cannot_serve(call)
    body, thinking = openai_relay.rewrite(call, output_cap, upstream_model, call.body)
    return UpstreamRequest(RESPONSES, chat_request_to_responses(body), thinking)


def _responses_to_chat_response(call: CallInput, meter: Meter, body: dict) -> dict:
    return openai_relay.response(call, meter, responses_response_to_chat(body, model=call.model.id))


# -- Anthropic client, Responses upstream ---------------------------------------
# Composed through the chat pair: messages → chat → responses, and back.


def _messages_to_responses(call: CallInput, output_cap: int | None, upstream_model: str) -> UpstreamRequest:
    if call.operation != MESSAGES:
        raise cannot_serve(call)
    body, thinking = openai_relay.rewrite(call, output_cap, upstream_model, anthropic_request_to_openai(call.body))
    return UpstreamRequest(RESPONSES, chat_request_to_responses(body), thinking)


def _responses_to_messages_response(call: CallInput, meter: Meter, body: dict) -> dict:
    return openai_response_to_anthropic(_responses_to_chat_response(call, meter, body), model=call.model.id)


# -- Responses client -----------------------------------------------------------


def _responses_request(call: CallInput, output_cap: int | None, upstream_model: str) -> UpstreamRequest:
    if call.operation != RESPONSES:
        raise cannot_serve(call)
    return UpstreamRequest(RESPONSES, *responses_relay.rewrite(call, output_cap, upstream_model, call.body))


def _as_response(call: CallInput, chat_body: dict) -> dict:
    return chat_response_to_responses(
        chat_body,
        request=call.body,
        response_id=responses_relay.response_id(call),
        created_at=responses_relay.created_at(call),
        model=call.model.id,
    )


def _responses_to_chat(call: CallInput, output_cap: int | None, upstream_model: str) -> UpstreamRequest:
    if call.operation != RESPONSES:
        raise cannot_serve(call)
    body = responses_request_to_chat(call.body)
    return UpstreamRequest(CHAT, *openai_relay.rewrite(call, output_cap, upstream_model, body))


def _chat_to_responses_response(call: CallInput, meter: Meter, body: dict) -> dict:
    return _as_response(call, openai_relay.response(call, meter, body))


def _responses_to_messages(call: CallInput, output_cap: int | None, upstream_model: str) -> UpstreamRequest:
    if call.operation != RESPONSES:
        raise cannot_serve(call)
    default = output_cap or min(call.model.max_output_tokens or DEFAULT_MAX_OUTPUT, DEFAULT_MAX_OUTPUT)
    body = openai_request_to_anthropic(responses_request_to_chat(call.body), default_max_tokens=default)
    return UpstreamRequest(MESSAGES, *anthropic_relay.rewrite(call, upstream_model, body))


def _messages_to_responses_response(call: CallInput, meter: Meter, body: dict) -> dict:
    chat = anthropic_response_to_openai(anthropic_relay.response(call, meter, body), model=call.model.id)
    return _as_response(call, chat)


# (client format, upstream format) -> how the pair is served.
PAIRS: dict[tuple[str, str], Translation] = {
    ("openai", "openai"): Translation(_openai_request, openai_relay.response, streams.OpenAIToOpenAI),
    ("anthropic", "anthropic"): Translation(_anthropic_request, anthropic_relay.response, streams.AnthropicToAnthropic),
    ("openai", "anthropic"): Translation(_chat_to_messages, _messages_to_chat_response, streams.AnthropicToOpenAI),
    ("anthropic", "openai"): Translation(_messages_to_chat, _chat_to_messages_response, streams.OpenAIToAnthropic),
    ("openai", "responses"): Translation(_chat_to_responses, _responses_to_chat_response, streams.ResponsesToOpenAI),
    ("anthropic", "responses"): Translation(
        _messages_to_responses, _responses_to_messages_response, streams.ResponsesToAnthropic
    ),
    ("responses", "responses"): Translation(_responses_request, responses_relay.response, streams.ResponsesToResponses),
    ("responses", "openai"): Translation(_responses_to_chat, _chat_to_responses_response, streams.ChatToResponses),
    ("responses", "anthropic"): Translation(
        _responses_to_messages, _messages_to_responses_response, streams.MessagesToResponses
    ),
}
