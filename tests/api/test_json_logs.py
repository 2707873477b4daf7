"""LUMYX_LOG_FORMAT=json: every line the server writes is one JSON object, the
request line's fields among its keys, and no key reaches it."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest
import requests

from tests.support.servers import ROOT, VENV_BIN, LiveServer, free_port

REQUEST_FIELDS = {
    "request_id",
    "operation",
    "model",
    "route",
    "status",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "partial",
}


@pytest.fixture(scope="module")
def json_logged(app, server_env, tmp_path_factory):
    server = LiveServer({**server_env, "LUMYX_LOG_FORMAT": "json"}, tmp_path_factory.mktemp("json") / "gunicorn.log")
    yield server
    server.stop()


def _lines(server: LiveServer) -> list[dict]:
    lines = [line for line in server.logs().splitlines() if line.strip()]
    objects = []
    for line in lines:
        try:
            objects.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"a log line is not JSON: {line!r}") from None
    return objects


def _lines_once_logged(server: LiveServer, request_ids: list[str]) -> list[dict]:
    """The log's objects once the request line of each of ``request_ids`` is in it
    (a call is logged once its client has the answer)."""
    deadline = time.monotonic() + 10
    while True:
        objects = _lines(server)
        if set(request_ids) <= {line.get("request_id") for line in objects} or time.monotonic() > deadline:
            return objects
        time.sleep(0.05)


def test_every_line_is_a_json_object_with_the_request_fields(json_logged, key):
    headers = {"Authorization": f"Bearer {key}"}
    answers = [
        requests.post(
            json_logged.url + "/v1/chat/completions",
            json={"model": "gpt-5.2", "max_tokens": 20, "messages": [{"role": "user", "content": "Hello"}]},
            headers=headers,
            timeout=30,
        ),
        requests.post(
            json_logged.url + "/v1/chat/completions",
            json={"model": "fallback-chat", "messages": [{"role": "user", "content": "Hello"}]},
            headers=headers,
            timeout=30,
        ),
    ]
    assert [a.status_code for a in answers] == [200, 200]
    chat = answers[0].json()
    objects = _lines_once_logged(json_logged, [a.headers["x-request-id"] for a in answers])
    for line in objects:
        assert {"time", "level", "logger", "pid", "message"} <= line.keys()
    assert any(line["logger"] == "gunicorn.error" for line in objects), "gunicorn's own lines are JSON too"
    by_id = {line.get("request_id"): line for line in objects if "request_id" in line}
    line = by_id[answers[0].headers["x-request-id"]]
    assert REQUEST_FIELDS <= line.keys()
    assert line["model"] == "gpt-5.2" and line["route"] == "fake-openai/upstream-gpt" and line["status"] == 200
    assert line["input_tokens"] == chat["usage"]["prompt_tokens"]
    assert line["output_tokens"] == chat["usage"]["completion_tokens"]
    assert line["partial"] is False and line["level"] == "INFO"
    assert by_id[answers[1].headers["x-request-id"]]["route"] == "fake-openai/upstream-fallback"
    # The failed routes before it are warnings, as JSON too.
    assert any(line["level"] == "WARNING" and "route dead/never failed" in line["message"] for line in objects)


def test_a_key_in_a_bad_request_stays_out_of_the_json_lines(json_logged, key):
    bad_key = "lx-" + uuid.uuid4().hex + "NOTREAL"
    requests.post(
        json_logged.url + "/v1/chat/completions",
        json={"model": "gpt-5.2", "messages": [{"role": "user", "content": "Hi"}]},
        headers={"Authorization": f"Bearer {bad_key}"},
        timeout=30,
    )
    requests.post(
        json_logged.url + "/v1/chat/completions",
        data=b"{broken " + key.encode(),
        headers={"Authorization": f"Bearer {key}", "content-type": "application/json"},
        timeout=30,
    )
    _lines_once_logged(json_logged, [])
    time.sleep(0.5)  # whatever the two requests log is written by now
    _lines(json_logged)
    logs = json_logged.logs()
    for secret in (key, key[3:], bad_key, bad_key[3:]):
        assert secret not in logs


def test_an_unknown_log_format_stops_the_server_naming_the_setting(server_env):
    env = {**server_env, "LUMYX_LOG_FORMAT": "yaml", "PORT": str(free_port()), "WEB_CONCURRENCY": "1"}
    result = subprocess.run(
        [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "LUMYX_LOG_FORMAT: must be one of text, json, got 'yaml'" in result.stderr
