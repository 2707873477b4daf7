"""How `make run` listens: every worker on a socket of its own (SO_REUSEPORT), the
kernel spreading new connections between them, and a second server on a port in
use refused at start instead of silently taking part of the first one's connections."""

from __future__ import annotations

import http.client
import re
import subprocess
from collections import Counter

import requests

from tests.support.servers import ROOT, VENV_BIN, LiveServer


def _pids(state: str, port: int) -> Counter:
    """How many sockets of ``port`` in ``state`` each process holds (ss's view)."""
    command = ["ss", "-tnpH", "state", state, f"sport = :{port}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return Counter(int(pid) for pid in re.findall(r"pid=(\d+)", out))


def test_each_worker_listens_on_its_own_socket_and_takes_a_share_of_the_connections(app, server_env, tmp_path):
    server = LiveServer(server_env, tmp_path / "gunicorn.log", workers=2)
    try:
        workers = set(server.worker_pids())
        assert len(workers) == 2 and set(_pids("listening", server.port)) == workers
        clients = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=10) for _ in range(64)]
        for client in clients:  # kept alive, as a load generator's or a balancer's pool
            client.request("GET", "/v1/health")
            assert client.getresponse().read() and True
        held = _pids("established", server.port)
        assert set(held) == workers and sum(held.values()) == 64
        assert max(held.values()) <= 48, f"connections spread between the workers: {dict(held)}"
        for client in clients:
            client.close()
        assert "Listening at: 127.0.0.1:" in server.logs()
    finally:
        server.stop()


def test_a_second_server_on_a_port_in_use_stops_at_start(app, server_env, tmp_path):
    first = LiveServer(server_env, tmp_path / "first.log", workers=1)
    try:
        env = {**first.env, "WEB_CONCURRENCY": "1"}
        second = subprocess.run(
            [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        assert f"cannot listen on 127.0.0.1:{first.port}: Address already in use" in second.stderr
        assert requests.get(first.url + "/v1/health", timeout=5).status_code == 200, "the first one serves on"
    finally:
        first.stop()
