"""What an operator watches the gateway by: its Prometheus metrics, its traces
and its logs.

A foundation: it imports nothing of lumyx's features, so every layer may record
into it (the features as calls end, the views as requests end).
"""
