"""The OpenAI Chat Completions ⇄ Anthropic Messages pair, both directions.

* Requests: :func:`openai_request_to_anthropic` (:mod:`.request_to_anthropic`),
  :func:`anthropic_request_to_openai` (:mod:`.request_to_openai`).
* Non-streaming responses: :func:`anthropic_response_to_openai`,
  :func:`openai_response_to_anthropic` (:mod:`.response_bodies`).
* Streams: :class:`AnthropicToOpenAIStream` (:mod:`.stream_to_openai`),
  :class:`OpenAIToAnthropicStream` (:mod:`.stream_to_anthropic`).

Each module's docstring is its rule book; :mod:`lumyx.translate` exports
their functions. May import the shared modules of
:mod:`lumyx.translate` (content, tools, reasoning, usage, stop_reasons, ids,
errors) and the standard library; nothing else.
"""
