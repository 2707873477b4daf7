"""A persona's HTTP tools: a URL the gateway calls with the model's arguments.

Only on hosts the operator listed in ``LUMYX_AGENT_HTTP_HOSTS``, checked before
any connection is made; a URL with credentials, spaces or control characters is
refused when the persona is saved (:func:`url_problem`). The call follows no
redirect, ignores the environment's proxies and ``.netrc``, and has a cap on the
response size. It is given ``TOTAL_SECONDS`` in all, connecting and reading included:
a timer (gevent's) cuts the call wherever it is when the time is up, so a server
that sends a byte now and then, each in time for the read timeout, cannot hold
the tool (and the agent's request) any longer.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import gevent
import orjson

if TYPE_CHECKING:
    import requests

from lumyx.agents.tools.server_tool import ServerTool, ToolError

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


def _read_capped(response: requests.Response) -> tuple[bytes, bool]:
    chunks, size = [], 0
    for chunk in response.iter_content(8192):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            return b"".join(chunks)[:MAX_RESPONSE_BYTES], True
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
    import requests  # here: the workers of a server whose personas call no host never load it (5 MB each)

    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc credentials from the environment
    headers = {
        "user-agent": "Lumyx-Agent/1",
        "accept": "application/json, text/plain;q=0.9, */*;q=0.5",
        "accept-encoding": "identity",
    }
    kwargs = {"params": _query(arguments)} if method == "GET" else {"json": arguments}
    deadline = gevent.Timeout(TOTAL_SECONDS)
    deadline.start()
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
            data, truncated = _read_capped(response)
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
    except gevent.Timeout as exc:
        if exc is not deadline:
            raise
        raise ToolError(f"the request to {host} took longer than {TOTAL_SECONDS:g} s") from None
    except requests.Timeout:
        raise ToolError(f"the request to {host} timed out") from None
    except requests.RequestException as exc:
        raise ToolError(f"the request to {host} failed ({type(exc).__name__})") from None
    finally:
        deadline.close()
        session.close()


def http_tool(spec: dict, allowed_hosts: tuple[str, ...]) -> ServerTool:
    return ServerTool(
        spec["name"],
        spec.get("description") or f"{spec.get('method', 'GET')} {spec['url']}",
        spec.get("parameters") or {"type": "object", "properties": {}},
        functools.partial(call_http, spec, allowed_hosts=allowed_hosts),
        kind="http",
    )
