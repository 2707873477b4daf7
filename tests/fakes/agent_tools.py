"""Fake upstream, shared part: which tool the model calls, and with what.

Every stand-in (Chat Completions, Messages, Responses) answers a user turn that
offers tools the same way, so that a coding agent (Codex CLI, the Agents SDK,
Claude Code) does real work through any of them:

* the tool the prompt names (its name as a word) is called, else the first one;
  "parallel" in the prompt adds a call of another tool;
* ``apply_patch`` (a free-form tool, or a function with one string parameter,
  as gateways offer a free-form tool to a function-only upstream) gets a valid
  patch that adds the first file the prompt names (``*.txt``, ``*.md``, ``*.py``,
  ...), else ``hello.txt``;
* a shell-like tool (``shell``, ``exec_command``, ..., or a ``command``/``cmd``
  property) gets the prompt's first `backticked` text as its command, else
  ``echo 'Echo: <start of the prompt>'``;
* any other tool arguments built from its JSON schema.

Each stand-in reads tools in its own wire format and hands them here as plain
dicts ``{"type": "function" | "custom", "name", "parameters"}`` (``tool()``).
"""

from __future__ import annotations

import re
import shlex

import orjson

from tests.fakes.upstream_core import example_from_schema, wants_parallel

FILE_RE = re.compile(r"\b([\w./-]+\.(?:txt|md|py|js|ts|json|toml|ya?ml|sh|rs|go|c|h|html|css))\b")
COMMAND_RE = re.compile(r"`([^`\n]+)`")
SHELL_NAMES = ("shell", "exec_command", "shell_command", "local_shell", "bash", "run_command", "container.exec")
# Optional shell-tool arguments a model leaves out (the tool's defaults are right).
SHELL_OPTIONAL = ("workdir", "cwd", "justification", "prefix_rule", "sandbox_permissions")
NO_PARAMS = {"type": "object", "properties": {}}


def tool(name: str, parameters=None, kind: str = "function") -> dict:
    """A tool in the neutral shape this module reads."""
    return {"type": kind, "name": name, "parameters": parameters}


def shell_command(text: str, snippet: str) -> str:
    """The prompt's first `backticked` text, else an echo of the prompt's start."""
    m = COMMAND_RE.search(text)
    if m:
        return m.group(1).strip()
    return "echo " + shlex.quote("Echo: " + snippet)


def patch_body(text: str, snippet: str) -> str:
    """An apply_patch patch that adds the first file the prompt names (else hello.txt)."""
    m = FILE_RE.search(text)
    name = m.group(1) if m else "hello.txt"
    return f"*** Begin Patch\n*** Add File: {name}\n+Echo: {snippet}\n*** End Patch\n"


def is_shell(t: dict) -> bool:
    props = (t.get("parameters") or {}).get("properties") or {}
    return t.get("name") in SHELL_NAMES or "command" in props or "cmd" in props


def function_arguments(t: dict, text: str, snippet: str):
    """The arguments (a JSON value, normally an object) of a call of a function tool."""
    params = t.get("parameters") or NO_PARAMS
    args = example_from_schema(params, snippet)
    props = params.get("properties") or {}
    if t["name"] == "apply_patch":
        key = "input" if "input" in props else next(iter(args), "input") if isinstance(args, dict) else "input"
        return {**(args if isinstance(args, dict) else {}), key: patch_body(text, snippet)}
    if is_shell(t) and isinstance(args, dict):
        cmd = shell_command(text, snippet)
        for key in ("command", "cmd"):
            if key in props:
                kind = props[key].get("type") if isinstance(props[key], dict) else None
                args[key] = ["bash", "-lc", cmd] if kind == "array" else cmd
        for key in SHELL_OPTIONAL:
            if key in props and isinstance(props[key], dict):
                args.pop(key, None)
    return args


def call_for(t: dict, text: str, snippet: str):
    """(item type, name, arguments JSON text or free-form input) of a call of this tool."""
    name = t["name"]
    if t["type"] == "custom":
        return "custom_tool_call", name, patch_body(text, snippet) if name == "apply_patch" else snippet
    return "function_call", name, orjson.dumps(function_arguments(t, text, snippet)).decode()


def named_in(t: dict, text: str) -> bool:
    return re.search(r"\b" + re.escape(t["name"]) + r"\b", text) is not None


def pick(tools: list, text: str, parallel_ok: bool) -> list:
    """The tools called, in order: the one the prompt names, else the first; with
    "parallel" in the prompt (and parallel calls allowed) another one after it."""
    first = next((t for t in tools if named_in(t, text)), tools[0])
    if parallel_ok and wants_parallel(text):
        rest = [t for t in tools if t is not first]
        return [first, rest[0] if rest else first]
    return [first]
