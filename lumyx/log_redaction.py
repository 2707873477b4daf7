"""No secret in any log line: a logging filter that masks API keys, bearer
tokens and Authorization / x-api-key header values wherever they appear in a
message or its arguments. Installed on every handler the application writes to
(and on gunicorn's error log), so a careless log call cannot leak a key."""

from __future__ import annotations

import logging
import re

MASK = "[redacted]"
_PATTERNS = [
    re.compile(r"(?i)\b(bearer)\s+[^\s'\",]+"),
    re.compile(r"(?i)(authorization|x-api-key|api[_-]?key|stripe-signature)(['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"),
    re.compile(r"\b(lx-|nova_|sk-|sk_live_|sk_test_|rk_live_|whsec_)[A-Za-z0-9_\-]{8,}"),
]


def redact(text: str) -> str:
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return _PATTERNS[2].sub(lambda m: f"{m.group(1)}{MASK}", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install(handler: logging.Handler) -> None:
    if not any(isinstance(f, RedactSecrets) for f in handler.filters):
        handler.addFilter(RedactSecrets())
