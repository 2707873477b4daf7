"""The OpenAI Chat Completions → Responses API pair (a Responses upstream
serving Chat Completions clients, and through them Messages clients).

* Requests: :func:`chat_request_to_responses` (:mod:`.request_to_responses`).
* Non-streaming responses: :func:`responses_response_to_chat` (:mod:`.response_to_chat`).
* Streams: :class:`ResponsesToChatStream` (:mod:`.stream_to_chat`).

Each module's docstring is its rule book; :mod:`lumyx.translate` exports
their functions. May import the shared modules of :mod:`lumyx.translate` and
the standard library; nothing else.
"""
