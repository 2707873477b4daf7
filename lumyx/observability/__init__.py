"""What an operator sees of the running gateway: metrics, traces, logs.

Imports only the bottom layer (``config``, ``log_redaction``, ``money``) and its libraries;
the gateway and the app factory call into it.
"""
