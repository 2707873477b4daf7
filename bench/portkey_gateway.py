"""Portkey's open-source AI gateway (npm @portkey-ai/gateway), run as its docs say, for side-by-side benchmarks.

    gw = portkey_gateway.start(port=8790, upstream_url="http://127.0.0.1:9100", workdir=Path("/tmp/x"))
    # POST {gw.url}/v1/chat/completions, /v1/messages or /v1/responses with gw.headers(fmt, model)
    # added to the usual ones (key sk-bench, forwarded to the upstream); then gw.stop()

Installed by `make bench-portkey` from bench/portkey/package-lock.json into bench/portkey/node_modules.
Started as its docs' "Node.js server" (`node build/start-server.js`) with `--port=` (its start script's
only port setting; 8787 otherwise) and `--headless` (no UI), NODE_ENV=production. One Node process: the
gateway has no cluster or worker option. It has no keys of its own and keeps nothing: it routes each
request by its headers (`x-portkey-provider`, `x-portkey-custom-host`) and forwards the client's key.

bench/portkey/stream-headers.mjs is preloaded (`node --import`): without it every streamed request
fails with "TypeError: immutable" (Portkey-AI/gateway issues 1389 and 1550, on any @hono/node-server
newer than its 1.14 series); it copies the headers of event-stream responses only, as the fix proposed
there does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ready import wait_until_ready

DIR = Path(__file__).resolve().parent / "portkey"
PACKAGE = DIR / "node_modules" / "@portkey-ai" / "gateway"
SERVER = PACKAGE / "build" / "start-server.js"
PRELOAD = DIR / "stream-headers.mjs"


def installed() -> bool:
    return SERVER.exists()


def version() -> str:
    try:
        return json.loads((PACKAGE / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "?"


@dataclass
class Gateway:
    url: str
    upstream_url: str
    process: subprocess.Popen
    log: Path
    version: str
    note: str = (
        "node build/start-server.js --headless, NODE_ENV=production: one process (no cluster option); "
        "routes by x-portkey-provider and x-portkey-custom-host headers, forwards the client's key; no keys, "
        "logs or limits of its own"
    )

    def headers(self, fmt: str, model: str) -> dict:
        """The routing headers a request needs: Anthropic's provider for the Anthropic model (Portkey
        translates an OpenAI client's chat to it), OpenAI's otherwise, both on the stand-in."""
        provider = "anthropic" if fmt == "anthropic" or "claude" in model else "openai"
        return {"x-portkey-provider": provider, "x-portkey-custom-host": self.upstream_url + "/v1"}

    def pids(self) -> list[int]:
        return [self.process.pid] if self.process.poll() is None else []

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def start(port: int, upstream_url: str, workdir: Path, timeout: float = 30) -> Gateway:
    """Start the gateway on port (all interfaces, as its start script does) and return once it answers."""
    if not installed():
        raise RuntimeError("no Portkey gateway: make bench-portkey")
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "portkey.log"
    env = {**os.environ, "NODE_ENV": "production"}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["node", "--import", str(PRELOAD), str(SERVER), f"--port={port}", "--headless"],
            cwd=DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    gateway = Gateway(f"http://127.0.0.1:{port}", upstream_url, process, log, version())
    wait_until_ready(gateway.url + "/", process, "Portkey's gateway", str(log), timeout, gateway.stop)
    return gateway
