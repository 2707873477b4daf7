"""Lumyx as the benchmark runs it: `make run`'s gunicorn command with every feature on.

Each start gets a database of its own (a SQLite file, or a fresh PostgreSQL database
with Redis for the rate-limit counters), a catalog whose priced models route to the
benchmark's upstream stand-in (``bench-gpt`` in the OpenAI Chat Completions format,
``bench-claude`` in the Anthropic format, ``bench-responses`` in the OpenAI Responses
format, provider kind ``openai-responses``; and for what cache-aware billing and routing
cost, ``bench-gpt-cached``, with a cache-read price, its upstream reporting half of each
prompt cached, and ``bench-gpt-balanced``, three routes balanced by weight), and one
pro-plan account with credits and a key. Pro keys are rate limited, so each request counts against its per-minute and
per-day limits (raised so that the benchmark never reaches them), holds credits, and
writes a usage row: the whole request path a paying user takes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"
EMAIL = "bench@example.com"

CATALOG = """\
providers:
  - {{id: bench-openai, kind: openai, base_url: "{upstream}/v1", api_key_env: BENCH_UPSTREAM_KEY, timeout_s: 600}}
  - {{id: bench-anthropic, kind: anthropic, base_url: "{upstream}", api_key_env: BENCH_UPSTREAM_KEY, timeout_s: 600}}
  - {{id: bench-openai-responses, kind: openai-responses, base_url: "{upstream}/v1", api_key_env: BENCH_UPSTREAM_KEY,
     timeout_s: 600}}
  - {{id: bench-openai-b, kind: openai, base_url: "{upstream}/v1", api_key_env: BENCH_UPSTREAM_KEY, timeout_s: 600}}
  - {{id: bench-openai-c, kind: openai, base_url: "{upstream}/v1", api_key_env: BENCH_UPSTREAM_KEY, timeout_s: 600}}
models:
  - id: bench-gpt
    name: Bench GPT
    context_length: 128000
    max_output_tokens: 16000
    pricing: {{input: 1.0, output: 4.0}}
    capabilities: [tools, json_mode]
    routes: [{{provider: bench-openai, model: bench-gpt}}]
  - id: bench-claude
    name: Bench Claude
    context_length: 200000
    max_output_tokens: 16000
    pricing: {{input: 1.0, output: 4.0}}
    capabilities: [tools]
    routes: [{{provider: bench-anthropic, model: bench-claude}}]
  - id: bench-gpt-cached
    name: Bench GPT, cache-priced
    context_length: 128000
    max_output_tokens: 16000
    pricing: {{input: 1.0, output: 4.0, cache_read: 0.25}}
    capabilities: [tools, json_mode]
    routes: [{{provider: bench-openai, model: bench-gpt-cached}}]
  - id: bench-gpt-balanced
    name: Bench GPT, three balanced routes
    context_length: 128000
    max_output_tokens: 16000
    pricing: {{input: 1.0, output: 4.0}}
    capabilities: [tools, json_mode]
    routing: balance
    routes:
      - {{provider: bench-openai, model: bench-gpt, weight: 1}}
      - {{provider: bench-openai-b, model: bench-gpt, weight: 1}}
      - {{provider: bench-openai-c, model: bench-gpt, weight: 1}}
  - id: bench-responses
    name: Bench Responses
    context_length: 400000
    max_output_tokens: 16000
    pricing: {{input: 1.0, output: 4.0}}
    capabilities: [tools, json_mode]
    routes: [{{provider: bench-openai-responses, model: bench-responses}}]
"""


@dataclass
class Lumyx:
    backend: str  # "sqlite" or "postgres"
    url: str
    key: str
    proc: subprocess.Popen
    env: dict
    workdir: Path
    database: str | None = None  # the PostgreSQL database to drop afterwards
    _log: object = field(default=None, repr=False)
    commit: str | None = None  # set when it runs another checkout than this one (run.py --baseline)

    @property
    def label(self) -> str:
        name = "Lumyx (SQLite)" if self.backend == "sqlite" else "Lumyx (PostgreSQL + Redis)"
        return f"{name} at {self.commit}" if self.commit else name

    def pids(self) -> list[int]:
        try:
            parent = psutil.Process(self.proc.pid)
            return [parent.pid] + [child.pid for child in parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self._log:
            self._log.close()
        if self.database:
            import psycopg

            with psycopg.connect(POSTGRES.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def _flask(env: dict, *args: str, root: Path = ROOT) -> str:
    result = subprocess.run(
        [str(root / ".venv" / "bin" / "flask"), "--app", "app", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"flask {args[0]} failed: {result.stderr[-2000:]}")
    return result.stdout


def start(
    backend: str,
    upstream_url: str,
    port: int,
    workdir: Path,
    workers: int | None = None,
    extra_env: dict | None = None,
    root: Path = ROOT,
    catalog_text: str | None = None,
) -> Lumyx:
    """Lumyx as `make run` serves it, from this checkout or, with ``root``, from
    another one (an earlier commit, with a .venv of its own) to compare with;
    ``catalog_text`` serves another catalog than the three bench models."""
    workdir.mkdir(parents=True, exist_ok=True)
    catalog = workdir / "catalog.yaml"
    catalog.write_text(catalog_text or CATALOG.format(upstream=upstream_url))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LUMYX_", "STRIPE_", "DATABASE_", "REDIS_"))}
    env.update(
        {
            "LUMYX_CATALOG": str(catalog),
            "SECRET_KEY": "bench-" + uuid.uuid4().hex,
            "BENCH_UPSTREAM_KEY": "sk-bench",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LUMYX_LIMITS_PRO": "100000000/minute;1000000000/day",
            "LUMYX_RATELIMIT_PREFIX": "bench-" + uuid.uuid4().hex[:8],
        }
    )
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    database = None
    if backend == "sqlite":
        for stale in workdir.glob("lumyx.db*"):
            stale.unlink()
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'lumyx.db'}"
    else:
        import psycopg

        database = "lumyx_bench_" + uuid.uuid4().hex[:10]
        with psycopg.connect(POSTGRES.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        env["DATABASE_URL"] = POSTGRES.rsplit("/", 1)[0] + "/" + database
        env["REDIS_URL"] = REDIS
    env.update(extra_env or {})
    # What `make run` does: migrate, prepare, serve with gunicorn.conf.py.
    _flask(env, "db", "upgrade", root=root)
    _flask(env, "prepare", root=root)
    _flask(
        env,
        "create-user",
        EMAIL,
        "--password",
        "bench-password-1",
        "--plan",
        "pro",
        "--credits",
        "100000000",
        root=root,
    )
    key = _flask(env, "create-key", EMAIL, "--name", "bench", root=root).strip().splitlines()[-1]
    log = open(workdir / "gunicorn.log", "ab")
    proc = subprocess.Popen(
        [str(root / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    commit = None
    if root != ROOT:
        git = ["git", "rev-parse", "--short", "HEAD"]
        commit = subprocess.run(git, cwd=root, capture_output=True, text=True).stdout.strip() or str(root)
    server = Lumyx(backend, f"http://127.0.0.1:{port}", key, proc, env, workdir, database, log, commit)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            server.stop()
            raise RuntimeError(f"gunicorn exited; see {workdir / 'gunicorn.log'}")
        try:
            if requests.get(server.url + "/v1/health", timeout=1).ok:
                return server
        except requests.RequestException:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("Lumyx did not answer /v1/health in 60 s")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Start Lumyx as the benchmark does, until Ctrl-C.")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--upstream", required=True, help="base URL of the upstream stand-in")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "lumyx-manual")
    args = parser.parse_args()
    lumyx = start(args.backend, args.upstream, args.port, args.workdir)

    def interrupt(_sig, _frame):
        raise KeyboardInterrupt  # SIGTERM stops gunicorn too (it runs in a session of its own)

    signal.signal(signal.SIGTERM, interrupt)
    print(f"{lumyx.label} on {lumyx.url}  key {lumyx.key}", flush=True)
    try:
        lumyx.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        lumyx.stop()
        sys.exit(0)
