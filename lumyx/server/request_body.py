"""The app's request class: every request body is held to ``MAX_CONTENT_LENGTH``
(``LUMYX_MAX_BODY_BYTES``), whatever its transfer encoding.

A body that says its length is refused by werkzeug before any of it is read. A
chunked one does not: werkzeug reads it up to the limit and stops there without
a word, so the first ``limit`` bytes would pass for the whole body. Here such a
body is read up to one byte past the limit, and that byte raises 413
(RequestEntityTooLarge), which each side answers in its own format; what the
client sends after it is never read (the worker closes a connection after a 413,
lumyx.server.worker).
"""

from __future__ import annotations

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream


class BodyCappedRequest(Request):
    @cached_property
    def stream(self):
        limit = self.max_content_length
        if limit is None or self.content_length is not None or "wsgi.input_terminated" not in self.environ:
            return super().stream
        return _CappedStream(self.environ["wsgi.input"], limit)


class _CappedStream(LimitedStream):
    """A body of unknown length: at most ``cap`` bytes, one more raises 413."""

    def __init__(self, stream, cap: int):
        super().__init__(stream, cap + 1, is_max=True)
        self.cap = cap

    def readinto(self, buffer) -> int:
        size = super().readinto(buffer)
        if self.tell() > self.cap:
            raise RequestEntityTooLarge()
        return size
