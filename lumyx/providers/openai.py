"""Kind ``openai``: any OpenAI-compatible upstream (OpenAI, vLLM, Ollama,
llama.cpp, OpenRouter, Groq, DeepSeek, ...). ``base_url`` is the URL that
``/chat/completions`` is appended to."""

from __future__ import annotations

from lumyx.providers import http, streaming
from lumyx.providers.base import CHAT, COMPLETIONS, EMBEDDINGS, UpstreamFailure, UpstreamReply

PATHS = {CHAT: "/chat/completions", COMPLETIONS: "/completions", EMBEDDINGS: "/embeddings"}


def send(provider, operation: str, body: dict, *, stream: bool, client_headers: dict) -> UpstreamReply:
    path = PATHS.get(operation)
    if path is None:
        raise UpstreamFailure(
            "unsupported", f"operation {operation} is not served by OpenAI-kind providers", retryable=False
        )
    response, secret = http.post_with_bearer(provider, path, body, stream=stream)
    if stream:
        return streaming.reply(response, secret)
    return UpstreamReply(body=http.read_json(response), headers=dict(response.headers))
