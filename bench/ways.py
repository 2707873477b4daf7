"""The ways under test (the stand-in hit directly, Lumyx, the peers installed), started for a
benchmark run, and what every scenario reads of them: CPU seconds and resident memory of their
processes, and a figure minus the direct way's of the same round."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import loadgen as L  # noqa: E402
import lumyx_server  # noqa: E402

OUT = BENCH / "out"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Way:
    name: str
    base: str  # ends in /v1
    key: str
    pids: Callable[[], list[int]]
    stop: Callable[[], None] = lambda: None
    direct: bool = False
    note: str = ""
    headers: Callable[[str, str], dict] | None = None  # (format, model) -> routing headers it needs
    # the upstream formats it translates a client's request into (None: every one); a translated c1
    # case into another is not served (a plain proxy translates nothing)
    translates: tuple[str, ...] | None = None

    def target(self, fmt: str, model: str, stream: bool = False, max_tokens: int = 64, store: bool = False) -> L.Target:
        extra = self.headers(fmt, model) if self.headers else None
        return L.make_target(self.base, self.key, fmt, model, stream, max_tokens, store=store, extra_headers=extra)


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            pass
    return total


def rss_mb(pids: list[int]) -> float:
    return sum(each_rss_mb(pids))


def each_rss_mb(pids: list[int]) -> list[float]:
    """Each process's resident memory, MB (one that has exited is left out)."""
    sizes = []
    for pid in pids:
        try:
            sizes.append(psutil.Process(pid).memory_info().rss / 2**20)
        except psutil.NoSuchProcess:
            pass
    return sizes


def minus_direct(value: float | None, direct: float | None) -> float | None:
    """A way's figure minus the direct way's figure of the same round: what the way adds
    (None when either is missing)."""
    return None if value is None or direct is None else value - direct


class Upstream:
    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(workdir / "upstream.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH / "upstream.py"), "--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/health", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError("the upstream stand-in did not start")

    def configure(self, latency_ms: float = 0, chunks: int = 20, chunk_delay_ms: float = 0) -> None:
        requests.post(
            self.url + "/_bench/config",
            timeout=5,
            json={"latency_ms": latency_ms, "chunks": chunks, "chunk_delay_ms": chunk_delay_ms},
        ).raise_for_status()

    def way(self) -> Way:
        return Way("upstream direct", self.url + "/v1", "sk-bench", lambda: [self.proc.pid], direct=True)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


def listening(port: int) -> bool:
    """PostgreSQL (5432) or Redis (6379) answering on this host."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def lumyx_way(server: lumyx_server.Lumyx) -> Way:
    return Way(
        server.label,
        server.url + "/v1",
        server.key,
        server.pids,
        server.stop,
        note=f"gunicorn + gevent, {server.env.get('WEB_CONCURRENCY') or os.cpu_count()} workers",
    )


def start_ways(args, upstream: Upstream) -> list[Way]:
    ways = [upstream.way()]
    backends = ["sqlite"] + (["postgres"] if not args.no_postgres and listening(5432) and listening(6379) else [])
    roots = [lumyx_server.ROOT] + ([args.baseline.resolve()] if args.baseline else [])
    for backend in backends:
        for i, root in enumerate(roots):
            workdir = OUT / (f"lumyx-{backend}" if i == 0 else f"lumyx-{backend}-baseline")
            ways.append(lumyx_way(lumyx_server.start(backend, upstream.url, free_port(), workdir, root=root)))
    if not args.no_litellm:
        import litellm_proxy

        if litellm_proxy.installed():
            # Its closest to "every feature on" without a database: per-key rate limits,
            # counted in Redis so that they hold across its workers, as Lumyx's do.
            proxy = litellm_proxy.start(
                free_port(), upstream.port, workdir=OUT / "litellm", key_limits=True, redis=listening(6379)
            )
            ways.append(
                Way(
                    f"LiteLLM {proxy.version}",
                    proxy.url + "/v1",
                    proxy.key,
                    proxy.pids,
                    proxy.stop,
                    note=proxy.settings_note,
                )
            )
        else:
            print("LiteLLM's proxy is not installed (make bench-litellm); running without it", flush=True)
    if not args.no_portkey:
        import portkey_gateway

        if portkey_gateway.installed():
            gw = portkey_gateway.start(free_port(), upstream.url, OUT / "portkey")
            ways.append(
                Way(
                    f"Portkey {gw.version}",
                    gw.url + "/v1",
                    "sk-bench",
                    gw.pids,
                    gw.stop,
                    note=gw.note,
                    headers=gw.headers,
                    translates=("anthropic",),
                )
            )
        else:
            print("Portkey's gateway is not installed (make bench-portkey); running without it", flush=True)
    if not args.no_nginx:
        import nginx_proxy

        if nginx_proxy.installed():
            proxy = nginx_proxy.start(free_port(), upstream.port, OUT / "nginx")
            ways.append(
                Way(
                    f"nginx {proxy.version}",
                    proxy.url + "/v1",
                    "sk-bench",
                    proxy.pids,
                    proxy.stop,
                    note=proxy.note,
                    translates=(),
                )
            )
        else:
            print("nginx is not installed (make nginx); running without it", flush=True)
    return ways
