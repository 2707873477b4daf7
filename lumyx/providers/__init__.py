"""Provider adapters, one module per upstream kind.

Each exposes ``send(provider, operation, body, *, stream, client_headers)``
returning an UpstreamReply or raising UpstreamFailure.
"""

from lumyx.providers import anthropic, local, openai
from lumyx.providers.base import WIRE_OF_KIND, UpstreamFailure, UpstreamReply

ADAPTERS = {"openai": openai, "anthropic": anthropic, "local": local}

__all__ = ["ADAPTERS", "WIRE_OF_KIND", "UpstreamFailure", "UpstreamReply"]
