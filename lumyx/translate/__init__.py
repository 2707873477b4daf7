"""Translation between the OpenAI Chat Completions and Anthropic Messages wire formats.

Pure functions and small stream state machines over JSON-decoded dicts: no
HTTP, no I/O. Input dicts are never mutated.

* Requests: :func:`openai_request_to_anthropic`, :func:`anthropic_request_to_openai`
  (rules in :mod:`.request_to_anthropic`, :mod:`.request_to_openai`,
  :mod:`.content`, :mod:`.tools`, :mod:`.reasoning`).
* Responses: :func:`anthropic_response_to_openai`, :func:`openai_response_to_anthropic`
  (:mod:`.responses`, :mod:`.usage`, :mod:`.stop_reasons`, :mod:`.ids`).
* Streams: :class:`AnthropicToOpenAIStream` (:mod:`.stream_to_openai`),
  :class:`OpenAIToAnthropicStream` (:mod:`.stream_to_anthropic`).

A request that cannot be expressed in the upstream's format raises
:class:`TranslationError` (the gateway answers 400).
"""

from lumyx.translate.errors import TranslationError
from lumyx.translate.reasoning import budget_to_effort, effort_to_budget
from lumyx.translate.request_to_anthropic import openai_request_to_anthropic
from lumyx.translate.request_to_openai import anthropic_request_to_openai
from lumyx.translate.responses import anthropic_response_to_openai, openai_response_to_anthropic
from lumyx.translate.stop_reasons import anthropic_stop_to_openai, openai_finish_to_anthropic
from lumyx.translate.stream_to_anthropic import OpenAIToAnthropicStream
from lumyx.translate.stream_to_openai import AnthropicToOpenAIStream

__all__ = [
    "TranslationError",
    "openai_request_to_anthropic",
    "anthropic_request_to_openai",
    "anthropic_response_to_openai",
    "openai_response_to_anthropic",
    "AnthropicToOpenAIStream",
    "OpenAIToAnthropicStream",
    "effort_to_budget",
    "budget_to_effort",
    "anthropic_stop_to_openai",
    "openai_finish_to_anthropic",
]
