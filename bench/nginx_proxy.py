"""nginx's proxy_pass in front of the upstream stand-in: the floor of any HTTP proxy, for side-by-side benchmarks.

    proxy = nginx_proxy.start(port=8791, upstream_port=9100, workdir=Path("/tmp/x"))
    # any request to {proxy.url}/v1/... reaches the stand-in unchanged (key sk-bench); then proxy.stop()

Debian's nginx (`make nginx`), run as a child (`daemon off`) on a config written into workdir: two
worker processes (one per core), a keep-alive pool to the upstream, HTTP/1.1 to it, no buffering (so
streams pass event by event), no access log. No keys, metering, translation or storage: what moving
the bytes through one more process costs.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ready import wait_until_ready

CONFIG = """\
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{
    worker_connections 8192;
}}
worker_rlimit_nofile 20000;
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    upstream standin {{
        server 127.0.0.1:{upstream_port};
        keepalive 256;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://standin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 600s;
        }}
    }}
}}
"""


def binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


def installed() -> bool:
    return binary() is not None


def version() -> str:
    out = subprocess.run([binary(), "-v"], capture_output=True, text=True).stderr
    m = re.search(r"nginx/(\S+)", out)
    return m[1] if m else "?"


@dataclass
class Proxy:
    url: str
    process: subprocess.Popen
    workdir: Path
    version: str
    workers: int

    @property
    def note(self) -> str:
        return (
            f"proxy_pass, {self.workers} worker processes, keep-alive pool to the upstream, HTTP/1.1, "
            "no buffering, no access log: a proxy's floor (no keys, metering or translation)"
        )

    def pids(self) -> list[int]:
        import psutil

        try:
            return [self.process.pid] + [c.pid for c in psutil.Process(self.process.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: workers finish, then the master exits
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def start(port: int, upstream_port: int, workdir: Path, workers: int | None = None, timeout: float = 10) -> Proxy:
    """Start nginx on 127.0.0.1:port in front of 127.0.0.1:upstream_port; return once it answers."""
    if not installed():
        raise RuntimeError("no nginx: make nginx")
    workers = workers or os.cpu_count() or 1
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(CONFIG.format(workers=workers, dir=workdir, port=port, upstream_port=upstream_port))
    with open(workdir / "stdout.log", "wb") as out:
        process = subprocess.Popen(
            [binary(), "-p", str(workdir), "-c", str(conf), "-g", "daemon off;"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    proxy = Proxy(f"http://127.0.0.1:{port}", process, workdir, version(), workers)
    wait_until_ready(proxy.url + "/health", process, "nginx", str(workdir / "error.log"), timeout, proxy.stop)
    return proxy
