"""What a server tool is: a name, a description and a JSON Schema the model is
shown, and ``run(arguments)``, which returns a JSON-able result or raises
:class:`ToolError` with a message meant for the model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class ToolError(Exception):
    """A tool could not do what it was asked; the message goes back to the model."""


@dataclass(frozen=True)
class ServerTool:
    name: str
    description: str
    parameters: dict
    run: Callable[[dict], object]
    kind: str = "builtin"  # builtin | http

    @property
    def definition(self) -> dict:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }
