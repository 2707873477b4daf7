"""How connections and request bodies reach the app: the gunicorn worker Lumyx
runs in (bounds on slow and idle connections, connections per address), and the
request class that holds every body, whatever its transfer encoding, to
``LUMYX_MAX_BODY_BYTES``; whether the worker drains after its stop signal.

Imports nothing of lumyx outside this package.
"""
