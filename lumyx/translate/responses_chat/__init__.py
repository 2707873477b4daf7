"""The OpenAI Chat Completions ⇄ Responses API pair, both directions.

A Responses upstream serving Chat Completions clients (and through them
Messages clients):

* Requests: :func:`chat_request_to_responses` (:mod:`.request_to_responses`).
* Non-streaming responses: :func:`responses_response_to_chat` (:mod:`.response_to_chat`).
* Streams: :class:`ResponsesToChatStream` (:mod:`.stream_to_chat`).

Responses clients (``POST /v1/responses``) served by a Chat Completions
upstream (and, chained with :mod:`lumyx.translate.chat_messages`, by a
Messages one):

* Requests: :func:`responses_request_to_chat` (:mod:`.request_to_chat`).
* Non-streaming responses: :func:`chat_response_to_responses` and the bare
  Response object :func:`responses_envelope` (:mod:`.response_from_chat`).
* Streams: :class:`ChatToResponsesStream` (:mod:`.stream_from_chat`).

Each module's docstring is its rule book; :mod:`lumyx.translate` exports
their functions. May import the shared modules of :mod:`lumyx.translate` and
the standard library; nothing else.
"""
