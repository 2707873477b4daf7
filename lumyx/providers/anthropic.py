"""Kind ``anthropic``: the Anthropic Messages API. ``base_url`` is the URL that
``/v1/messages`` is appended to. The client's ``anthropic-version`` and
``anthropic-beta`` headers are forwarded."""

from __future__ import annotations

from lumyx.providers import http, streaming
from lumyx.providers.base import COUNT_TOKENS, MESSAGES, UpstreamFailure, UpstreamReply

PATHS = {MESSAGES: "/v1/messages", COUNT_TOKENS: "/v1/messages/count_tokens"}
DEFAULT_VERSION = "2023-06-01"


def send(provider, operation: str, body: dict, *, stream: bool, client_headers: dict) -> UpstreamReply:
    path = PATHS.get(operation)
    if path is None:
        raise UpstreamFailure(
            "unsupported", f"operation {operation} is not served by Anthropic-kind providers", retryable=False
        )
    secret = provider.api_key()
    headers = {
        "content-type": "application/json",
        "accept": "text/event-stream" if stream else "application/json",
        "anthropic-version": client_headers.get("anthropic-version") or DEFAULT_VERSION,
    }
    if client_headers.get("anthropic-beta"):
        headers["anthropic-beta"] = client_headers["anthropic-beta"]
    if secret:
        headers["x-api-key"] = secret
    response = http.post(provider.base_url + path, body, headers, provider.timeout_s, secret)
    if stream:
        return streaming.reply(response, secret)
    return UpstreamReply(body=http.read_json(response), headers=dict(response.headers))
