"""Translation between wire formats: pure functions and small stream state
machines over JSON-decoded dicts. No HTTP, no I/O, no Flask; input dicts are
never mutated. May import the standard library and itself, nothing else.

Layout
------
* One subpackage per pair of wire formats, holding for each direction a
  request translator, a response translator and a stream state machine:
  :mod:`.chat_messages` (OpenAI Chat Completions ⇄ Anthropic Messages) and
  :mod:`.responses_chat` (Chat Completions ⇄ OpenAI Responses, both sides).
* Beside them, the pieces every pair shares: :mod:`.content` (content parts and
  blocks), :mod:`.tools` (tool definitions, ``tool_choice``, streamed
  arguments), :mod:`.reasoning` (reasoning settings and reasoning content),
  :mod:`.usage`, :mod:`.stop_reasons`, :mod:`.ids` and :mod:`.errors`.

Every module's docstring is the rule book of what it translates.

A new pair
----------
The OpenAI Responses API slots in as pairs, each a subpackage of its own beside
:mod:`.chat_messages`: ``responses_chat/`` (Chat Completions ⇄ Responses, both
directions: a Responses upstream serving Chat clients, and Responses clients
served by a Chat upstream, or by a Messages one through Chat) and, should a
direct path ever be needed, ``responses_messages/`` (Responses ⇄ Messages). Each holds a
request, a response and a stream translator per direction, takes what is
shared from the modules above (adding a rule there only where every pair
follows it, e.g. Responses ids in :mod:`.ids`, its usage fields in
:mod:`.usage`), and its functions are exported here. The gateway's table of
(client format, upstream format) → translators then gains one line per
direction.

What is exported here
---------------------
* Requests: :func:`openai_request_to_anthropic`, :func:`anthropic_request_to_openai`.
* Responses: :func:`anthropic_response_to_openai`, :func:`openai_response_to_anthropic`.
* Streams: :class:`AnthropicToOpenAIStream`, :class:`OpenAIToAnthropicStream`.
* A Responses upstream: :func:`chat_request_to_responses`,
  :func:`responses_response_to_chat`, :class:`ResponsesToChatStream`.
* A Responses client on a Chat upstream (and, chained with the pair above,
  on a Messages one): :func:`responses_request_to_chat`,
  :func:`chat_response_to_responses`, :class:`ChatToResponsesStream`, and
  :func:`responses_envelope` (the Response object before any output).
* Reasoning budgets and stop reasons: :func:`effort_to_budget`,
  :func:`budget_to_effort`, :func:`anthropic_stop_to_openai`,
  :func:`openai_finish_to_anthropic`.

A request that cannot be expressed in the upstream's format raises
:class:`TranslationError` (the gateway answers 400).
"""

from lumyx.translate.chat_messages.request_to_anthropic import openai_request_to_anthropic
from lumyx.translate.chat_messages.request_to_openai import anthropic_request_to_openai
from lumyx.translate.chat_messages.response_bodies import anthropic_response_to_openai, openai_response_to_anthropic
from lumyx.translate.chat_messages.stream_to_anthropic import OpenAIToAnthropicStream
from lumyx.translate.chat_messages.stream_to_openai import AnthropicToOpenAIStream
from lumyx.translate.errors import TranslationError
from lumyx.translate.reasoning import budget_to_effort, effort_to_budget
from lumyx.translate.responses_chat.request_to_chat import responses_request_to_chat
from lumyx.translate.responses_chat.request_to_responses import chat_request_to_responses
from lumyx.translate.responses_chat.response_from_chat import chat_response_to_responses, responses_envelope
from lumyx.translate.responses_chat.response_to_chat import responses_response_to_chat
from lumyx.translate.responses_chat.stream_from_chat import ChatToResponsesStream
from lumyx.translate.responses_chat.stream_to_chat import ResponsesToChatStream
from lumyx.translate.stop_reasons import anthropic_stop_to_openai, openai_finish_to_anthropic

__all__ = [
    "TranslationError",
    "openai_request_to_anthropic",
    "anthropic_request_to_openai",
    "anthropic_response_to_openai",
    "openai_response_to_anthropic",
    "AnthropicToOpenAIStream",
    "OpenAIToAnthropicStream",
    "chat_request_to_responses",
    "responses_response_to_chat",
    "ResponsesToChatStream",
    "responses_request_to_chat",
    "chat_response_to_responses",
    "ChatToResponsesStream",
    "responses_envelope",
    "effort_to_budget",
    "budget_to_effort",
    "anthropic_stop_to_openai",
    "openai_finish_to_anthropic",
]
