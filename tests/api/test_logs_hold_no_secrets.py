"""No API key, upstream key or prompt ever reaches the server's log."""

from __future__ import annotations

import logging
import uuid

import requests

from lumyx.log_redaction import RedactSecrets
from tests.support.catalog import UPSTREAM_KEY


def test_keys_and_prompts_stay_out_of_the_log(live, key):
    prompt = "secret-prompt-" + uuid.uuid4().hex
    bad_key = "lx-" + uuid.uuid4().hex + "NOTREAL"
    headers = {"Authorization": f"Bearer {key}"}
    calls = [
        (
            "/v1/chat/completions",
            {"model": "gpt-5.2", "max_tokens": 20, "messages": [{"role": "user", "content": prompt}]},
        ),
        (
            "/v1/chat/completions",
            {
                "model": "gpt-5.2",
                "stream": True,
                "max_tokens": 20,
                "messages": [{"role": "user", "content": prompt + " [[scenario:drop:2]]"}],
            },
        ),
        ("/v1/chat/completions", {"model": "fallback-chat", "messages": [{"role": "user", "content": prompt}]}),
        ("/v1/chat/completions", {"model": "failing-chat", "messages": [{"role": "user", "content": prompt}]}),
        (
            "/v1/messages",
            {"model": "lumyx-plus_v1", "max_tokens": 20, "messages": [{"role": "user", "content": prompt}]},
        ),
        (
            "/v1/chat/completions",
            {"model": "gpt-5.2", "messages": [{"role": "user", "content": prompt + " [[scenario:status-400]]"}]},
        ),
    ]
    for path, body in calls:
        requests.post(live.url + path, json=body, headers=headers, timeout=30)
        requests.post(live.url + path, json=body, headers={"x-api-key": bad_key}, timeout=30)
    requests.post(live.url + "/v1/chat/completions", data=b"{broken " + prompt.encode(), headers=headers, timeout=30)
    logs = live.logs()
    assert "chat gpt-5.2" in logs, "the requests were logged (without their content)"
    for secret in (key, key[3:], bad_key, bad_key[3:], UPSTREAM_KEY, prompt):
        assert secret not in logs


def test_the_filter_redacts_whatever_a_log_call_is_given(caplog):
    logger = logging.getLogger("lumyx.test-redaction")
    handler_filter = RedactSecrets()
    key = "lx-" + "A" * 43
    record = logger.makeRecord(
        "lumyx.test-redaction",
        logging.WARNING,
        __file__,
        1,
        "calling upstream with headers %s and key %s",
        ({"Authorization": "Bearer sk-live-abcdefghijklmnopqrstuvwx"}, key),
        None,
    )
    handler_filter.filter(record)
    message = record.getMessage()
    assert key not in message and "sk-live-abcdefghijklmnopqrstuvwx" not in message and "[redacted]" in message
    try:
        raise ValueError(f"upstream refused x-api-key: {key}")
    except ValueError:
        import sys

        record = logger.makeRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    handler_filter.filter(record)
    assert key not in record.exc_text
