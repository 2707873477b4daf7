"""How connections and request bodies reach the app: the listening sockets, one for
each worker, that the gunicorn master keeps open (listeners); the gunicorn worker Lumyx
runs in (bounds on slow and idle connections, connections per address), and the
request class that holds every body, whatever its transfer encoding, to
``LUMYX_MAX_BODY_BYTES``; whether the worker drains after its stop signal; and
``GET /metrics``, the server's Prometheus metrics (metrics_endpoint).

The listening sockets, the draining flag and the request class import nothing of
lumyx, the worker only the settlements it waits for at exit (lumyx.billing.beside); the
metrics endpoint is a view (it reads the runtime's catalog, the holds and the breakers).
"""
