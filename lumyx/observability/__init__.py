"""What an operator sees of the running gateway: its Prometheus metrics, its traces
(OpenTelemetry spans over OTLP) and its log lines (text or JSON).

A foundation: it imports only the bottom layer (``config``, ``log_redaction``, ``money``)
and its libraries, so every layer may record into it (the features as calls end, the
views as requests end).
"""
