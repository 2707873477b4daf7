"""Provider adapters, one module per upstream kind (openai, openai-responses, anthropic, local),
the table of them (:mod:`.adapters`), pooled HTTP and SSE reading.

Each adapter exposes ``send(provider, operation, body, *, stream, client_headers)``
returning an UpstreamReply or raising UpstreamFailure (:mod:`.base`).

May import ``lumyx.config`` and ``lumyx.errors``; nothing of the features.
"""
