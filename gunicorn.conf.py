"""gunicorn settings for `make run` (gevent workers, one per core by default)."""

import multiprocessing
import os
import shutil
import tempfile

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
# gunicorn's gevent worker, with a header timeout, a cap on connections per address and
# connections closed after a 413 (lumyx/server/worker.py; its settings are read there).
worker_class = "lumyx.server.worker.LumyxWorker"
# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new
# connections between them by a hash of their addresses; on one shared socket, whichever
# worker woke first took most of a burst of connections, and its requests queued behind each
# other while the other worker idled. (on_starting refuses a port already in use.)
reuse_port = True
# Each worker imports the app after the fork, and so makes its own runtime: caches,
# pools and connections (lumyx/runtime.py).
preload_app = False
http_parser = "fast"  # gunicorn-h1c: requests parsed in C
worker_connections = int(os.environ.get("LUMYX_WORKER_CONNECTIONS", "4000"))
# How long a kept-alive connection may wait idle for its next request (whole seconds); keep it
# above the idle timeout of a load balancer in front.
keepalive = int(os.environ.get("LUMYX_KEEPALIVE_S") or 75)
timeout = 120
graceful_timeout = 60
accesslog = None
errorlog = "-"
# gunicorn's own lines in LUMYX_LOG_FORMAT (text, or one JSON object a line).
logger_class = "lumyx.observability.logs.GunicornLogger"
loglevel = "info"
# gunicorn's control socket lives at one fixed path per user; several servers on one
# machine (tests, benchmarks, a second instance) would fight over it.
control_socket_disable = True


def _refuse_an_address_in_use(server):
    """With SO_REUSEPORT a second server on a port in use would share it silently,
    its workers taking part of the first one's connections; so the master first
    binds the address as a server without reuse_port would, and stops when it is taken."""
    import socket

    for host, port in (a for a in server.cfg.address if isinstance(a, tuple)):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise SystemExit(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def when_ready(server):
    server.log.info("Listening at: %s (a socket per worker)", ", ".join(server.cfg.bind))


# Prometheus metrics (GET /metrics, lumyx/observability/metrics.py): each worker writes its
# numbers into files of one directory and a scrape adds up all of them. One directory per
# gunicorn master: PROMETHEUS_MULTIPROC_DIR when the operator sets it, else a fresh temporary
# one (removed when the master exits). It is emptied at start, so the counters of a server
# start at zero; a worker that exits leaves its counters and takes its live gauges with it.
METRICS_TEMP_PREFIX = "lumyx-metrics-"
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # (a reload keeps the directory it has)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=METRICS_TEMP_PREFIX)


def on_starting(server):
    _refuse_an_address_in_use(server)
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    made_here = os.path.dirname(directory) == tempfile.gettempdir()
    if made_here and os.path.basename(directory).startswith(METRICS_TEMP_PREFIX):
        shutil.rmtree(directory, ignore_errors=True)
