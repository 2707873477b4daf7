"""The OpenAI Chat Completions ⇄ Anthropic Messages pair, both directions.

* Requests: :func:`openai_request_to_anthropic` (:mod:`.request_to_anthropic`),
  :func:`anthropic_request_to_openai` (:mod:`.request_to_openai`).
* Non-streaming responses: :func:`anthropic_response_to_openai`,
  :func:`openai_response_to_anthropic` (:mod:`.response_bodies`).
* Streams: :class:`AnthropicToOpenAIStream` (:mod:`.stream_to_openai`),
  :class:`OpenAIToAnthropicStream` (:mod:`.stream_to_anthropic`).

Each module's docstring is its rule book. May import the shared modules of
:mod:`lumyx.translate` (content, tools, reasoning, usage, stop_reasons, ids,
errors) and the standard library; nothing else.
"""

from lumyx.translate.chat_messages.request_to_anthropic import openai_request_to_anthropic
from lumyx.translate.chat_messages.request_to_openai import anthropic_request_to_openai
from lumyx.translate.chat_messages.response_bodies import anthropic_response_to_openai, openai_response_to_anthropic
from lumyx.translate.chat_messages.stream_to_anthropic import OpenAIToAnthropicStream
from lumyx.translate.chat_messages.stream_to_openai import AnthropicToOpenAIStream

__all__ = [
    "openai_request_to_anthropic",
    "anthropic_request_to_openai",
    "anthropic_response_to_openai",
    "openai_response_to_anthropic",
    "AnthropicToOpenAIStream",
    "OpenAIToAnthropicStream",
]
