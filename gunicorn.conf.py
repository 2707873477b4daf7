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
# Each worker listens on a socket of its own, which the master opens and keeps open
# (SO_REUSEPORT; lumyx/server/listeners.py and the hooks below), so the kernel spreads new
# connections between the workers and a reload resets none; gunicorn's own reuse_port
# would have each worker open its socket and close it, with what is queued on it, at exit.
reuse_port = False
# Each worker imports the app after the fork, and so makes its own runtime: caches,
# pools and connections (lumyx/runtime.py).
preload_app = False
# gunicorn believes no address's X-Forwarded-Proto (its default trusts 127.0.0.1's): the
# app alone reads the forwarded headers, and only from LUMYX_TRUSTED_PROXIES proxies.
forwarded_allow_ips = ""
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
    from lumyx.server import listeners

    listeners.open_at_start(server)
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


def on_reload(server):
    from lumyx.server import listeners

    listeners.reopen_after_reload(server)


def pre_fork(server, worker):
    from lumyx.server import listeners

    listeners.assign(server, worker)


def post_fork(server, worker):
    from lumyx.server import listeners

    listeners.take(server, worker)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    from lumyx.server import listeners

    multiprocess.mark_process_dead(worker.pid)
    listeners.release(server, worker)


def on_exit(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    made_here = os.path.dirname(directory) == tempfile.gettempdir()
    if made_here and os.path.basename(directory).startswith(METRICS_TEMP_PREFIX):
        shutil.rmtree(directory, ignore_errors=True)
