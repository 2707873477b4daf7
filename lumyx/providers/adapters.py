"""The adapter of each provider kind, and the wire format each kind speaks."""

from lumyx.providers import anthropic, local, openai
from lumyx.providers.base import WIRE_OF_KIND

ADAPTERS = {"openai": openai, "anthropic": anthropic, "local": local}

__all__ = ["ADAPTERS", "WIRE_OF_KIND"]
