"""Error raised when a client's request cannot be expressed in the upstream's wire format."""

from __future__ import annotations


class TranslationError(ValueError):
    """The client's request cannot be expressed in the target wire format.

    The gateway answers it with HTTP 400 (an ``invalid_request_error``).
    ``param`` names the offending request field in the client's own format,
    e.g. ``"n"``, ``"tools[2]"`` or ``"messages[3].content[1]"``.
    """

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param

    def __repr__(self) -> str:
        return f"TranslationError({self.message!r}, param={self.param!r})"
