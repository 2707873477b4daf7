"""Business logic. Plain arguments in, plain values out; never flask.request."""
