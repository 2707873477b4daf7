"""The two wire formats: what a valid request looks like, checked cheaply; and
the OpenAPI description of the API that speaks them (openapi.py). Imports
only lumyx.errors."""
