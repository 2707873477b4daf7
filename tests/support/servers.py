"""Real servers for the suite: the gateway under gunicorn + gevent, and the
databases it runs on (a fresh SQLite file, or a fresh PostgreSQL database)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StandIn:
    """A stand-in server run as ``python -m <module> --port <free port> <args>``, ready
    once its /_fake/health answers; ``stop()`` ends it."""

    def __init__(self, module: str, what: str, *args: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", module, "--port", str(self.port), *args], cwd=ROOT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the {what} exited at start")
            try:
                if requests.get(self.url + "/_fake/health", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError(f"the {what} did not start in 20 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class TestDatabase:
    """A database of its own for one test session: on the server of ``base`` (a
    PostgreSQL URL; DATABASE_URL when not given), else a SQLite file in ``tmp``."""

    def __init__(self, tmp: Path, base: str | None = None):
        base = os.environ.get("DATABASE_URL", "") if base is None else base
        self.name = None
        if base.startswith("postgres"):
            import psycopg

            self.admin_dsn = _plain_dsn(base)
            self.name = "lumyx_t_" + uuid.uuid4().hex[:12]
            with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = base.rsplit("/", 1)[0] + "/" + self.name
        else:
            self.url = f"sqlite:///{tmp / 'lumyx-test.db'}"

    @property
    def kind(self) -> str:
        return "postgresql" if self.name else "sqlite"

    def drop(self) -> None:
        if not self.name:
            return
        import psycopg

        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def run_in_child(code: str, database_url: str, extra_env: dict | None = None) -> dict:
    """Runs Python ``code`` in a child process of its own (one that patches itself with
    gevent is as a worker is), on ``database_url`` and none of the suite's settings;
    answers the JSON of the last line it prints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LUMYX_", "STRIPE_", "DATABASE_"))}
    env.pop("REDIS_URL", None)
    env.update(DATABASE_URL=database_url, SECRET_KEY="child-test", **(extra_env or {}))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _plain_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class LiveServer:
    """`gunicorn -c gunicorn.conf.py wsgi:app`, as `make run` starts it."""

    def __init__(self, env: dict, log_path: Path, workers: int = 2, port: int | None = None, wait: bool = True):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        # Its janitor keeps usage rows forever unless told otherwise: the rows of long
        # ago that tests write into the shared database go when those tests say.
        self.env = {"LUMYX_USAGE_RETENTION_DAYS": "0", **env}
        self.env.update({"HOST": "127.0.0.1", "PORT": str(self.port), "WEB_CONCURRENCY": str(workers)})
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_healthy()

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}:\n{self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/v1/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not become healthy in 30 s")

    def logs(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def kill(self) -> None:
        """``kill -9`` of the master and its workers, as when the machine dies."""
        workers = self.worker_pids()
        self.proc.kill()
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        # A quick stop: a graceful one waits for idle keep-alive connections to time out.
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


def flask_cli(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Runs `flask --app app <args>` as an operator would."""
    result = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    if check and result.returncode != 0:
        raise AssertionError(f"flask {' '.join(args)} failed: {result.stderr}")
    return result
