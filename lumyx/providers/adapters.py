"""The adapter of each provider kind, and the wire format each kind speaks."""

from lumyx.providers import anthropic, local, openai, openai_responses
from lumyx.providers.base import WIRE_OF_KIND

ADAPTERS = {"openai": openai, "openai-responses": openai_responses, "anthropic": anthropic, "local": local}

__all__ = ["ADAPTERS", "WIRE_OF_KIND"]
