"""The tools the agents endpoint runs inside the gateway.

Built in, selected by name (:data:`BUILTINS`): ``calculator``
(:mod:`.calculator`), ``current_time`` (:mod:`.clock`) and ``search_docs``
(:mod:`.docs_search`). Besides them, a persona's HTTP tools
(:mod:`.http_tool`). Each is a :class:`ServerTool` (:mod:`.server_tool`).

No Flask in here. May import the catalog's docs samples file, the standard
library, ``requests``, ``orjson`` and ``yaml``.
"""

from lumyx.agents.tools.calculator import CALCULATOR, calculate
from lumyx.agents.tools.clock import CURRENT_TIME
from lumyx.agents.tools.docs_search import SEARCH_DOCS, search_docs
from lumyx.agents.tools.http_tool import HTTP_METHODS, call_http, http_tool, parse_hosts, url_problem
from lumyx.agents.tools.server_tool import ServerTool, ToolError

BUILTINS: dict[str, ServerTool] = {tool.name: tool for tool in (CALCULATOR, CURRENT_TIME, SEARCH_DOCS)}
BUILTIN_NAMES = tuple(BUILTINS)

__all__ = [
    "BUILTINS",
    "BUILTIN_NAMES",
    "HTTP_METHODS",
    "ServerTool",
    "ToolError",
    "calculate",
    "call_http",
    "http_tool",
    "parse_hosts",
    "search_docs",
    "url_problem",
]
