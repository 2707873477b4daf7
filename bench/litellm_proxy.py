"""LiteLLM's proxy server, run the way its production docs say, for side-by-side benchmarks.

    proxy = litellm_proxy.start(port=4100, upstream_port=9100, workdir=Path("/tmp/x"))
    # POST {proxy.url}/v1/chat/completions (model bench-gpt) or /v1/messages (bench-claude),
    # key as `Authorization: Bearer {proxy.key}` or `x-api-key: {proxy.key}`; then proxy.stop()

Own venv: bench/litellm/requirements.txt. Config and its sources: bench/litellm/config.yaml.in.
The rest, from LiteLLM's docs/proxy/prod.md and docs/proxy/server_tuning.md:
- uvicorn on uvloop, one worker per core: prod.md "Workers and scaling" (on a VM "set NUM_WORKERS to
  the machine's vCPU count"); server_tuning.md: uvicorn "recommended for almost all deployments"
- LITELLM_LOG=ERROR (prod.md "Production logging"), LITELLM_MODE=PRODUCTION ("Disable load_dotenv")
- LITELLM_LOCAL_MODEL_COST_MAP=True (server_tuning.md "Disable pulling live model prices"), and the
  other LITELLM_LOCAL_* for the source's other fetches: nothing leaves the host
- --keepalive_timeout 75 (server_tuning.md "Keepalive timeout"; default 5 s), as Lumyx's gunicorn
- --timeout_worker_healthcheck 60 (default 5 s): a worker can't answer uvicorn's ping until it has
  imported litellm (3.5 s of CPU); on a busy 2-core box workers were killed and respawned at start
No database: Prisma would download its engines at start, and there is no internet here.
"""

import os
import secrets
import signal
import string
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / "bench" / ".venv-litellm"
TEMPLATE = REPO / "bench" / "litellm" / "config.yaml.in"
ENV = {
    "LITELLM_MODE": "PRODUCTION",
    "LITELLM_LOG": "ERROR",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
}
# key_limits: a virtual key's rpm/tpm limits (keys need the DB) via custom auth, docs/proxy/custom_auth.md
KEY_AUTH = """import os, secrets
from litellm.proxy._types import UserAPIKeyAuth
async def user_api_key_auth(request, api_key):
    if not secrets.compare_digest((api_key or "").encode(), os.environ["LITELLM_MASTER_KEY"].encode()):
        raise Exception("Invalid API key")
    return UserAPIKeyAuth(api_key="bench-key", user_id="bench", rpm_limit=10**9, tpm_limit=10**12)
"""


def installed() -> bool:
    return (VENV / "bin" / "litellm").exists()


def version() -> str:
    found = sorted(VENV.glob("lib/python*/site-packages/litellm-*.dist-info"))
    return found[0].name[len("litellm-") : -len(".dist-info")] if found else "?"


@dataclass
class Proxy:
    url: str
    key: str
    pid: int
    version: str
    settings_note: str
    log: Path
    process: subprocess.Popen

    def pids(self) -> list[int]:
        """The server and every process under it (uvicorn's workers), for CPU/memory readings."""
        import psutil

        try:
            return [self.pid] + [p.pid for p in psutil.Process(self.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout: float = 20) -> None:
        try:
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
            os.killpg(self.pid, signal.SIGKILL)  # whatever is left: a hung server, multiprocessing's tracker
            self.process.wait(5)
        except ProcessLookupError:
            pass


def start(
    port: int,
    upstream_port: int,
    workers: int | None = None,
    redis: bool = False,
    workdir: Path = Path("/tmp/litellm-bench"),
    server: str = "uvicorn",
    key_limits: bool = False,
    timeout: float = 120,
) -> Proxy:
    """Start the proxy on 127.0.0.1:port and return once every worker is serving. redis: router
    state, and (via REDIS_HOST/REDIS_PORT) rate-limit and spend counters, shared by the workers in
    127.0.0.1:6379, as prod.md asks past one instance. Not port 4000: LiteLLM moves off it if taken."""
    if not installed():
        raise RuntimeError(
            f"no LiteLLM: python3 -m venv {VENV} && {VENV}/bin/pip install -r {REPO}/bench/litellm/requirements.txt"
        )
    assert server in ("uvicorn", "gunicorn"), server
    workers, workdir = workers or os.cpu_count() or 1, Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "bench_key_auth.py").write_text(KEY_AUTH)
    config = workdir / "litellm_config.yaml"
    config.write_text(
        string.Template(TEMPLATE.read_text()).substitute(
            upstream_port=upstream_port,
            general_settings="  custom_auth: bench_key_auth.user_api_key_auth" if key_limits else "",
            router_settings="  redis_host: os.environ/REDIS_HOST\n  redis_port: os.environ/REDIS_PORT" if redis else "",
        )
    )
    key = "sk-bench-" + secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DIRECT_URL", "REDIS_", "LITELLM_"))}
    env.update(ENV, LITELLM_MASTER_KEY=key, **({"REDIS_HOST": "127.0.0.1", "REDIS_PORT": "6379"} if redis else {}))
    cmd = [
        str(VENV / "bin" / "litellm"),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        str(workers),
        "--keepalive_timeout",
        "75",
        "--timeout_worker_healthcheck",
        "60",
        "--telemetry",
        "False",
    ] + (["--run_gunicorn"] if server == "gunicorn" else [])
    log = workdir / "litellm.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            cmd,
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    note = (
        f"{server}, {workers} workers, per LiteLLM's production docs: "
        f"{'per-key rpm/tpm limits (custom auth, never reached)' if key_limits else 'master-key auth'}, "
        f"{'Redis for router state and rate-limit counters' if redis else 'no Redis'}, JSON logs at ERROR. "
        "No database (Prisma can't fetch its engines offline): no virtual keys, spend logs, budgets"
    )
    proxy = Proxy(f"http://127.0.0.1:{port}", key, process.pid, version(), note, log, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"LiteLLM exited with {process.returncode}; see {log}")
        started = log.read_bytes().count(b"Proxy initialized with Config")  # once per worker
        try:
            with urllib.request.urlopen(proxy.url + "/health/liveliness", timeout=2) as r:
                if r.status == 200 and started >= workers:
                    return proxy
        except OSError:
            pass
        time.sleep(0.25)
    proxy.stop()
    raise TimeoutError(f"LiteLLM not ready after {timeout:.0f} s; see {log}")


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag, kw in (
        ("--port", {"type": int, "default": 4100}),
        ("--upstream-port", {"type": int, "default": 9100}),
        ("--workers", {"type": int}),
        ("--redis", {"action": "store_true"}),
        ("--key-limits", {"action": "store_true"}),
        ("--server", {"default": "uvicorn"}),
        ("--workdir", {"type": Path, "default": Path("/tmp/litellm-bench")}),
    ):
        ap.add_argument(flag, **kw)
    a, t0 = ap.parse_args(), time.monotonic()
    p = start(a.port, a.upstream_port, a.workers, a.redis, a.workdir, a.server, a.key_limits)
    print(
        f"ready in {time.monotonic() - t0:.1f} s: {p.url}  key {p.key}  pids {p.pids()}\n"
        f"{p.settings_note}\nlog: {p.log}; Ctrl-C stops it"
    )
    try:
        p.process.wait()
    except KeyboardInterrupt:
        p.stop()
