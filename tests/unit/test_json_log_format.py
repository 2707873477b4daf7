"""The JSON log line: one object, a record's fields as keys, and no key in any part of it."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from lumyx import config
from lumyx.observability.logs import JsonFormatter

KEY = "lx-" + "Q" * 43


def _record(message: str, args=(), fields=None, exc_info=None) -> logging.LogRecord:
    record = logging.getLogger("lumyx.test").makeRecord(
        "lumyx.test", logging.ERROR, __file__, 1, message, args, exc_info, extra={"fields": fields} if fields else None
    )
    return record


def test_a_record_is_one_json_object_with_its_fields():
    line = JsonFormatter().format(_record("%s served", ("req_1",), fields={"request_id": "req_1", "status": 200}))
    assert "\n" not in line
    obj = json.loads(line)
    assert obj["message"] == "req_1 served" and obj["request_id"] == "req_1" and obj["status"] == 200
    assert obj["level"] == "ERROR" and obj["logger"] == "lumyx.test" and obj["time"].endswith("+00:00")


def test_a_key_is_redacted_in_the_message_the_fields_and_the_exception():
    try:
        raise ValueError(f"upstream refused {KEY}")
    except ValueError:
        exc_info = sys.exc_info()
    line = JsonFormatter().format(
        _record("calling with Authorization: Bearer %s", (KEY,), fields={"note": KEY}, exc_info=exc_info)
    )
    obj = json.loads(line)
    assert KEY not in line and KEY[3:] not in line
    assert "[redacted]" in obj["message"] and "[redacted]" in obj["note"] and "[redacted]" in obj["exception"]


@pytest.mark.parametrize(("raw", "chosen"), [("", "text"), ("json", "json"), (" JSON ", "json"), ("text", "text")])
def test_the_log_format_setting(monkeypatch, raw, chosen):
    monkeypatch.setenv("LUMYX_LOG_FORMAT", raw)
    assert config.log_format() == chosen


def test_an_unknown_log_format_is_refused(monkeypatch):
    monkeypatch.setenv("LUMYX_LOG_FORMAT", "xml")
    with pytest.raises(SystemExit, match="LUMYX_LOG_FORMAT"):
        config.log_format()
