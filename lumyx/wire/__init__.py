"""The two wire formats: what a valid request looks like, checked cheaply; what
a model must be able to do to serve it (capabilities.py); and the OpenAPI
description of the API that speaks them (openapi.py).

May import ``errors`` only: the views call these before anything else runs.
"""
