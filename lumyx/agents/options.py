"""The agents endpoint's own request fields: which server tools the model is
offered (``server_tools``: built-in tools and the persona's HTTP tools; absent
means all of them, ``[]`` none) and how many model calls the loop may make
(``max_steps``), checked and taken out of the chat body the model sees."""

from __future__ import annotations

from dataclasses import dataclass

from lumyx.agents.personas import PersonaSpec
from lumyx.agents.tools import BUILTINS, ServerTool, http_tool
from lumyx.errors import bad_request
from lumyx.wire import checks

DEFAULT_MAX_STEPS = 8
MAX_STEPS = 20
AGENT_FIELDS = ("server_tools", "max_steps", "stream_options", "n")


@dataclass
class AgentOptions:
    tools: dict[str, ServerTool]  # the server tools the model is offered, by name
    max_steps: int


def parse_options(body: dict, persona: PersonaSpec | None, http_hosts: tuple[str, ...]) -> tuple[dict, AgentOptions]:
    """The agent's options from a validated chat body; returns the body without them.

    ``server_tools``: names of built-in tools and of the persona's HTTP tools;
    absent means all of them, ``[]`` none.
    """
    http_specs = {spec["name"]: spec for spec in (persona.http_tools if persona else ())}
    available = [*BUILTINS, *(name for name in http_specs if name not in BUILTINS)]
    names = body.get("server_tools")
    if names is None:
        names = available
    elif not isinstance(names, list):
        raise bad_request("'server_tools' must be an array of tool names.", "server_tools")
    for i, name in enumerate(names):
        if not isinstance(name, str) or name not in available:
            raise bad_request(f"'server_tools[{i}]' must be one of {', '.join(available)}.", f"server_tools[{i}]")
    max_steps = checks.integer(body, "max_steps", 1, MAX_STEPS)
    if body.get("n") not in (None, 1):
        raise bad_request("'n' must be 1 on the agents endpoint.", "n")
    tools: dict[str, ServerTool] = {}
    for name in names:
        tools[name] = BUILTINS[name] if name in BUILTINS else http_tool(http_specs[name], http_hosts)
    for i, tool in enumerate(body.get("tools") or ()):
        if tool["function"]["name"] in tools:
            raise bad_request(
                f"'tools[{i}]': '{tool['function']['name']}' is the name of a server tool of this "
                "request; rename it or leave it out of server_tools.",
                f"tools[{i}]",
            )
    clean = {key: value for key, value in body.items() if key not in AGENT_FIELDS}
    return clean, AgentOptions(tools=tools, max_steps=max_steps or DEFAULT_MAX_STEPS)
