"""The tools the agents endpoint runs inside the gateway.

Built in, selected by name: ``calculator`` (arithmetic through the ``ast``
module, never ``eval``), ``current_time`` (an IANA time zone) and
``search_docs`` (this instance's README and docs pages). Besides them, a
persona's HTTP tools: a URL the gateway calls with the model's arguments, only
on hosts the operator listed in ``LUMYX_AGENT_HTTP_HOSTS`` (checked before any
connection is made), without following redirects, with a short timeout and a
cap on the response size.

A tool's ``run(arguments)`` returns a JSON-able result or raises
:class:`ToolError` with a message meant for the model. No Flask in here.
"""

from __future__ import annotations

import ast
import functools
import html
import logging
import math
import operator
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import orjson
import requests
import yaml

from lumyx.catalog.samples import SAMPLES_FILE

log = logging.getLogger("lumyx.agents")

ROOT = Path(__file__).resolve().parents[2]


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


# -- calculator --------------------------------------------------------------

MAX_EXPRESSION_CHARS = 500
MAX_INT_BITS = 4096  # about 1,233 decimal digits
MAX_DEPTH = 60
MAX_FUNCTION_ARGS = 100

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
_FUNCTIONS: dict[str, tuple[Callable, int, int]] = {  # name: (function, least args, most args)
    "sqrt": (math.sqrt, 1, 1),
    "exp": (math.exp, 1, 1),
    "log": (math.log, 1, 2),
    "log10": (math.log10, 1, 1),
    "log2": (math.log2, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "asin": (math.asin, 1, 1),
    "acos": (math.acos, 1, 1),
    "atan": (math.atan, 1, 1),
    "abs": (abs, 1, 1),
    "round": (round, 1, 2),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "min": (min, 1, MAX_FUNCTION_ARGS),
    "max": (max, 1, MAX_FUNCTION_ARGS),
}


def _checked(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ToolError("the result is not a real number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolError("the result is too large (or not a number)")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ToolError("the result is too large")
    return value


def _power(base, exponent):
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent * (base.bit_length() - 1) > MAX_INT_BITS:
            raise ToolError("the result is too large")
    if isinstance(base, float) or isinstance(exponent, float) or exponent < 0:
        if abs(exponent) > 1e6:
            raise ToolError("the exponent is too large")
    return pow(base, exponent)


def _evaluate(node, depth: int = 0):
    if depth > MAX_DEPTH:
        raise ToolError("the expression is nested too deeply")
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ToolError(f"only numbers are allowed, not {node.value!r}")
        return _checked(node.value)
    if isinstance(node, ast.Name):
        if node.id not in _CONSTANTS:
            raise ToolError(f"unknown name '{node.id}'")
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand, depth + 1))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left, depth + 1), _evaluate(node.right, depth + 1)
        if isinstance(node.op, ast.Pow):
            return _checked(_power(left, right))
        if (
            isinstance(node.op, ast.Mult)
            and isinstance(left, int)
            and isinstance(right, int)
            and left.bit_length() + right.bit_length() > MAX_INT_BITS + 1
        ):
            raise ToolError("the result is too large")
        return _checked(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        function, least, most = _FUNCTIONS[node.func.id]
        if node.keywords or not least <= len(node.args) <= most:
            raise ToolError(
                f"{node.func.id}() takes {least}" + (f" to {most}" if most > least else "") + " positional argument(s)"
            )
        args = [_evaluate(arg, depth + 1) for arg in node.args]
        if node.func.id == "round" and len(args) == 2 and (not isinstance(args[1], int) or abs(args[1]) > 100):
            raise ToolError("round()'s second argument must be a whole number of digits")
        return _checked(function(*args))
    raise ToolError(
        f"'{ast.unparse(node)[:40]}' is not allowed: use numbers, + - * / // % **, parentheses "
        f"and {', '.join(_FUNCTIONS)}"
    )


def calculate(expression) -> int | float:
    """The value of an arithmetic expression; raises ToolError for anything else."""
    if not isinstance(expression, str) or not expression.strip():
        raise ToolError("'expression' must be a non-empty string such as \"(2 + 3) * 4\"")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    text = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ToolError(f"'{expression[:80]}' is not an arithmetic expression") from None
    try:
        value = _evaluate(tree.body)
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except (OverflowError, MemoryError):
        raise ToolError("the result is too large") from None
    except (ValueError, TypeError, RecursionError):
        raise ToolError("the expression is outside the functions' domain") from None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _calculator(arguments: dict) -> dict:
    expression = arguments.get("expression")
    return {"expression": expression, "result": calculate(expression)}


# -- current time ------------------------------------------------------------


def _current_time(arguments: dict) -> dict:
    name = arguments.get("timezone") or "UTC"
    if not isinstance(name, str) or len(name) > 64:
        raise ToolError("'timezone' must be an IANA time zone name such as Europe/Paris")
    name = name.strip()
    try:
        zone = ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, ValueError (a path), IsADirectoryError…
        raise ToolError(f"unknown time zone '{name[:64]}'; use an IANA name such as Europe/Paris or UTC") from None
    now = datetime.now(zone)
    offset = now.strftime("%z")
    return {
        "timezone": name,
        "datetime": now.isoformat(timespec="seconds"),
        "date": now.date().isoformat(),
        "time": now.strftime("%H:%M:%S"),
        "weekday": now.strftime("%A"),
        "utc_offset": f"{offset[:3]}:{offset[3:]}" if offset else "+00:00",
        "unix": int(now.timestamp()),
    }


# -- search docs -------------------------------------------------------------

WORD_RE = re.compile(r"[a-z0-9]+")
STOP_WORDS = frozenset(
    "a an and are as at be by do does for from how i in is it of on or the this to what when "
    "where which who why with you your can my me".split()
)
DOC_RESULTS = 3
EXCERPT_CHARS = 1200


@dataclass(frozen=True)
class DocSection:
    title: str
    source: str
    text: str


def _readme_sections(path: Path) -> list[DocSection]:
    sections, title, lines, in_code = [], "Lumyx", [], False
    anchor = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        heading = re.match(r"(#{1,4})\s+(.*)", line) if not in_code else None
        if heading:
            if "".join(lines).strip():
                sections.append(DocSection(title, f"README.md{anchor}", "\n".join(lines).strip()))
            title, lines = heading.group(2).strip(), []
            anchor = "#" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        else:
            lines.append(line)
    if "".join(lines).strip():
        sections.append(DocSection(title, f"README.md{anchor}", "\n".join(lines).strip()))
    return sections


_JINJA_RE = re.compile(r"\{#.*?#\}|\{%.*?%\}", re.S)
_EXPR_RE = re.compile(r"\{\{(.*?)\}\}", re.S)
_SAMPLE_RE = re.compile(r"""samples\.get\(\s*["']([^"']+)["']\s*\)""")
_TAG_RE = re.compile(r"<[^>]+>")
_H2_RE = re.compile(r"""<h2(?:\s[^>]*?\bid="([^"]*)")?[^>]*>(.*?)</h2>""", re.S)


def _page_text(fragment: str, samples: dict[str, str]) -> str:
    def expression(match: re.Match) -> str:
        sample = _SAMPLE_RE.search(match.group(1))
        if sample:
            return "\n" + samples.get(sample.group(1), "") + "\n"
        literal = re.search(r"""^\s*\w+\(\s*(['"])(.*?)\1""", match.group(1), re.S)
        return literal.group(2) if literal else ""

    text = _EXPR_RE.sub(expression, _JINJA_RE.sub("", fragment))
    text = html.unescape(_TAG_RE.sub(" ", text))
    return re.sub(r"[ \t]+", " ", re.sub(r"\n\s*\n+", "\n", text)).strip()


def _docs_sections(directory: Path, samples: dict[str, str]) -> list[DocSection]:
    sections = []
    for path in sorted(directory.glob("*.html")):
        if path.stem in ("layout", "index") or path.stem.startswith("_"):
            continue
        page = path.stem.replace("-", " ").capitalize()
        source = f"/docs/{path.stem}"
        raw = path.read_text(encoding="utf-8")
        cuts = list(_H2_RE.finditer(raw))
        intro = raw[: cuts[0].start()] if cuts else raw
        if _page_text(intro, samples):
            sections.append(DocSection(page, source, _page_text(intro, samples)))
        for i, cut in enumerate(cuts):
            end = cuts[i + 1].start() if i + 1 < len(cuts) else len(raw)
            heading = _page_text(cut.group(2), samples)
            anchor = f"#{cut.group(1)}" if cut.group(1) else ""
            sections.append(
                DocSection(f"{page}: {heading}", source + anchor, _page_text(raw[cut.end() : end], samples))
            )
    return sections


def _samples(path: Path) -> dict[str, str]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {e["id"]: str(e.get("code") or "") for e in entries or () if isinstance(e, dict) and "id" in e}


def _sources() -> tuple[Path, Path, Path]:
    return ROOT / "README.md", ROOT / "templates" / "docs", SAMPLES_FILE


def _stamp() -> tuple:
    readme, docs, samples = _sources()
    paths = [readme, samples, *(sorted(docs.glob("*.html")) if docs.is_dir() else ())]
    return tuple((str(p), p.stat().st_mtime_ns) for p in paths if p.exists())


@functools.lru_cache(maxsize=2)
def _index(stamp: tuple) -> list[tuple[DocSection, dict[str, int], set[str]]]:
    readme, docs, samples_file = _sources()
    sections: list[DocSection] = []
    if readme.exists():
        sections += _readme_sections(readme)
    try:
        samples = _samples(samples_file) if samples_file.exists() else {}
    except Exception:
        log.warning("search_docs: %s is unreadable; indexing the docs without samples", samples_file)
        samples = {}
    if docs.is_dir():
        try:
            sections += _docs_sections(docs, samples)
        except Exception:
            log.warning("search_docs: the docs pages could not be indexed; searching the README only")
    index = []
    for section in sections:
        counts: dict[str, int] = {}
        for word in WORD_RE.findall(section.text.lower()):
            counts[word] = counts.get(word, 0) + 1
        index.append((section, counts, set(WORD_RE.findall(section.title.lower()))))
    return index


def search_docs(query: str, limit: int = DOC_RESULTS) -> list[dict]:
    """The sections that best match the query (a small TF-IDF with title boost)."""
    terms = [w for w in WORD_RE.findall(query.lower()) if w not in STOP_WORDS] or WORD_RE.findall(query.lower())
    index = _index(_stamp())
    if not terms or not index:
        return []
    total = len(index)
    scored = []
    for section, counts, title_words in index:
        score = 0.0
        for term in set(terms):
            df = sum(1 for _, c, t in index if term in c or term in t)
            idf = math.log(1 + total / (1 + df))
            if term in counts:
                score += (1 + math.log(counts[term])) * idf
            if term in title_words:
                score += 3 * idf
        if score > 0:
            scored.append((score, section))
    scored.sort(key=lambda pair: -pair[0])
    return [{"title": s.title, "source": s.source, "excerpt": s.text[:EXCERPT_CHARS]} for _, s in scored[:limit]]


def _search_docs(arguments: dict) -> dict:
    query = arguments.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ToolError("'query' must be a non-empty string")
    results = search_docs(query[:500])
    return {"query": query[:500], "results": results}


BUILTINS: dict[str, ServerTool] = {
    tool.name: tool
    for tool in (
        ServerTool(
            "calculator",
            "Evaluate an arithmetic expression exactly: numbers, + - * / // % ** (or ^), parentheses, "
            "the constants pi, e, tau and the functions " + ", ".join(_FUNCTIONS) + ".",
            {
                "type": "object",
                "properties": {
                    "expression": {"type": "string", "description": "The expression, e.g. (2 + 3) * 4 or sqrt(2) / 2"}
                },
                "required": ["expression"],
            },
            _calculator,
        ),
        ServerTool(
            "current_time",
            "The current date and time in a time zone.",
            {
                "type": "object",
                "properties": {
                    "timezone": {
                        "type": "string",
                        "description": "An IANA time zone name such as Europe/Paris; default UTC",
                    }
                },
            },
            _current_time,
        ),
        ServerTool(
            "search_docs",
            "Search this gateway's documentation; returns the best matching sections with their titles.",
            {
                "type": "object",
                "properties": {"query": {"type": "string", "description": "What to look for"}},
                "required": ["query"],
            },
            _search_docs,
        ),
    )
}
BUILTIN_NAMES = tuple(BUILTINS)


# -- HTTP tools --------------------------------------------------------------

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0
TOTAL_SECONDS = 10.0
MAX_RESPONSE_BYTES = 32 * 1024


def url_problem(url) -> str | None:
    """Why a URL cannot be an HTTP tool's, or None. (Whether its host is allowed is
    decided when the tool runs: the operator's list may change.)"""
    if not isinstance(url, str) or not url or len(url) > 2000:
        return "must be an http or https URL of at most 2000 characters"
    if any(ch.isspace() or ch == "\\" or ord(ch) < 32 for ch in url):
        return "must not contain spaces, backslashes or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http or https URL with a host"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "must not contain credentials"
    return None


def parse_hosts(raw: str | None) -> tuple[str, ...]:
    """LUMYX_AGENT_HTTP_HOSTS: comma-separated host names, compared case-insensitively."""
    return tuple(sorted({h.strip().lower().strip("[]") for h in (raw or "").split(",") if h.strip()}))


def _query(arguments: dict) -> list[tuple[str, str]]:
    pairs = []
    for name, value in arguments.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, bool):
                item = "true" if item else "false"
            elif item is None:
                item = ""
            elif isinstance(item, (dict, list)):
                item = orjson.dumps(item).decode()
            pairs.append((str(name), str(item)))
    return pairs


def _read_capped(response: requests.Response, deadline: float) -> tuple[bytes, bool]:
    chunks, size = [], 0
    for chunk in response.iter_content(8192):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            return b"".join(chunks)[:MAX_RESPONSE_BYTES], True
        if time.monotonic() > deadline:
            raise ToolError(f"the response took longer than {TOTAL_SECONDS:g} s")
    return b"".join(chunks), False


def call_http(spec: dict, arguments: dict, allowed_hosts: tuple[str, ...]) -> dict:
    """Calls a persona's HTTP tool, if its host is allowed; never follows a redirect."""
    url, method = spec["url"], spec.get("method", "GET")
    problem = url_problem(url)
    if problem:
        raise ToolError(f"the tool's URL {problem}")
    host = urlsplit(url).hostname.lower()
    if not allowed_hosts:
        raise ToolError("HTTP tools are disabled on this server (the operator allows no hosts)")
    if host not in allowed_hosts:
        raise ToolError(f"the host '{host}' is not allowed for HTTP tools on this server")
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc credentials from the environment
    headers = {
        "user-agent": "Lumyx-Agent/1",
        "accept": "application/json, text/plain;q=0.9, */*;q=0.5",
        "accept-encoding": "identity",
    }
    kwargs = {"params": _query(arguments)} if method == "GET" else {"json": arguments}
    deadline = time.monotonic() + TOTAL_SECONDS
    try:
        with session.request(
            method,
            url,
            headers=headers,
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            allow_redirects=False,
            stream=True,
            **kwargs,
        ) as response:
            data, truncated = _read_capped(response, deadline)
            result: dict = {"status": response.status_code}
            if response.is_redirect:
                result["redirect_not_followed"] = response.headers.get("location", "")[:500]
            content_type = response.headers.get("content-type", "")
            result["content_type"] = content_type[:100]
            text = data.decode(response.encoding or "utf-8", errors="replace")
            body: object = text
            if "json" in content_type and not truncated:
                try:
                    body = orjson.loads(data)
                except orjson.JSONDecodeError:
                    pass
            result["body"] = body
            result["truncated"] = truncated
            return result
    except requests.Timeout:
        raise ToolError(f"the request to {host} timed out") from None
    except requests.RequestException as exc:
        raise ToolError(f"the request to {host} failed ({type(exc).__name__})") from None
    finally:
        session.close()


def http_tool(spec: dict, allowed_hosts: tuple[str, ...]) -> ServerTool:
    return ServerTool(
        spec["name"],
        spec.get("description") or f"{spec.get('method', 'GET')} {spec['url']}",
        spec.get("parameters") or {"type": "object", "properties": {}},
        functools.partial(call_http, spec, allowed_hosts=allowed_hosts),
        kind="http",
    )
