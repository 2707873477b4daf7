"""Log lines as text (the default) or, with ``LUMYX_LOG_FORMAT=json``, one JSON
object a line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``pid``,
``message``, ``exception`` when there is one, and a record's own ``fields``
(the request line's ``request_id``, ``operation``, ``model``, ``route``,
``status``, ``latency_ms``, ``input_tokens``, ``output_tokens``, ``partial``).

Every message, exception and string field is passed through
:func:`lumyx.log_redaction.redact`, so no key reaches a JSON line either.
:class:`GunicornLogger` gives gunicorn's own lines (master and workers) the
same shape.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson
from gunicorn.glogging import Logger

from lumyx import config
from lumyx.log_redaction import redact

TEXT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": redact(record.getMessage()),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for name, value in fields.items():
                line.setdefault(name, redact(value) if isinstance(value, str) else value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = redact(record.exc_text)
        return orjson.dumps(line, default=str).decode()


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of ``log_format`` (``text`` or ``json``)."""
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT)


class GunicornLogger(Logger):
    """gunicorn's logger, its error log written in ``LUMYX_LOG_FORMAT`` (an unknown
    value stops gunicorn before it starts, naming the setting)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if config.log_format() == "json":
            for handler in self.error_log.handlers:
                handler.setFormatter(JsonFormatter())
