"""Agents chat: the tool loop inside the gateway, driven with the official OpenAI
SDK (base URL …/v1/agents) against the live server and the upstream stand-in,
which calls the first tool it is offered with arguments drawn from the tool's
schema (strings: the user's text) and answers "Tool result: …" after results."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import openai
import pytest
import requests
from openai import OpenAI

from tests.support.servers import LiveServer

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture
def agent(live, key):
    return OpenAI(base_url=live.url + "/v1/agents", api_key=key, max_retries=0, timeout=30)


def _rows(app, request_ids: list[str]) -> list:
    from lumyx.db import db
    from lumyx.db.models import UsageRecord

    with app.app_context():
        rows = [db.session.get(UsageRecord, rid) for rid in request_ids]
        db.session.expunge_all()
        return rows


def _sent(upstream, marker: str, path: str = "/v1/chat/completions") -> list[dict]:
    return [r["body"] for r in upstream.requests(path) if marker in str(r.get("body"))]


@pytest.mark.parametrize("model", ["gpt-5.2", "lumyx-plus_v1"])
def test_calculator_loop_reaches_the_final_answer_and_bills_every_step(agent, app, account, model):
    response = agent.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "2 + 3 * 4"}], extra_body={"server_tools": ["calculator"]}
    )
    choice = response.choices[0]
    assert choice.finish_reason == "stop" and choice.message.tool_calls is None
    assert choice.message.content.startswith("Tool result: ") and '"result": 14' in choice.message.content
    assert response.model == model and response.object == "chat.completion"
    steps = response.steps
    assert [s["step"] for s in steps] == [1, 2]
    assert steps[0]["finish_reason"] == "tool_calls" and steps[1]["finish_reason"] == "stop"
    call = steps[0]["tool_calls"][0]
    assert call["name"] == "calculator" and call["status"] == "ok"
    assert json.loads(call["arguments"]) == {"expression": "2 + 3 * 4"}
    assert json.loads(call["result"]) == {"expression": "2 + 3 * 4", "result": 14}
    assert isinstance(call["duration_ms"], int) and steps[1]["tool_calls"] == []
    assert response.agent == {"stop_reason": "final_answer", "steps": 2, "max_steps": 8, "server_tools": ["calculator"]}

    rows = _rows(app, [s["request_id"] for s in steps])
    assert all(r is not None and r.model_id == model and r.user_id == account[0] and r.cost > 0 for r in rows)
    usage = response.usage
    assert usage.prompt_tokens == sum(r.input_tokens for r in rows) == sum(s["usage"]["prompt_tokens"] for s in steps)
    assert usage.completion_tokens == sum(r.output_tokens for r in rows) > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert rows[1].input_tokens > rows[0].input_tokens, "the second step carries the tool result"


def test_current_time_and_search_docs(agent):
    now = agent.chat.completions.create(
        model="gpt-5.2",
        messages=[{"role": "user", "content": "Asia/Tokyo"}],
        extra_body={"server_tools": ["current_time"]},
    )
    result = json.loads(now.steps[0]["tool_calls"][0]["result"])
    assert result["timezone"] == "Asia/Tokyo" and result["utc_offset"] == "+09:00"
    assert abs(result["unix"] - time.time()) < 60

    docs = agent.chat.completions.create(
        model="gpt-5.2",
        messages=[{"role": "user", "content": "credits billing"}],
        extra_body={"server_tools": ["search_docs"]},
    )
    found = json.loads(docs.steps[0]["tool_calls"][0]["result"])
    assert found["query"] == "credits billing" and 1 <= len(found["results"]) <= 3
    assert any(r["title"] == "Credits and billing" for r in found["results"])
    assert all(set(r) == {"title", "source", "excerpt"} and r["excerpt"] for r in found["results"])

    bad = agent.chat.completions.create(
        model="gpt-5.2",
        messages=[{"role": "user", "content": "Mars/Olympus"}],
        extra_body={"server_tools": ["current_time"]},
    )
    call = bad.steps[0]["tool_calls"][0]
    assert call["status"] == "error" and "unknown time zone" in json.loads(call["result"])["error"]
    assert bad.choices[0].finish_reason == "stop", "a failing tool is a result for the model, not a failure"


def test_calculator_refuses_what_is_not_arithmetic(agent):
    response = agent.chat.completions.create(
        model="gpt-5.2",
        messages=[{"role": "user", "content": "__import__('os').getcwd()"}],
        extra_body={"server_tools": ["calculator"]},
    )
    call = response.steps[0]["tool_calls"][0]
    assert call["status"] == "error" and "not allowed" in json.loads(call["result"])["error"]


def test_step_limit(agent, app):
    response = agent.chat.completions.create(
        model="gpt-5.2",
        messages=[{"role": "user", "content": "7 * 6"}],
        extra_body={"server_tools": ["calculator"], "max_steps": 1},
    )
    assert response.choices[0].finish_reason == "length"
    assert response.agent["stop_reason"] == "max_steps" and response.agent["steps"] == 1
    assert response.choices[0].message.tool_calls is None
    (step,) = response.steps
    assert step["tool_calls"][0]["status"] == "not_run" and "result" not in step["tool_calls"][0]
    (row,) = _rows(app, [step["request_id"]])
    assert row.input_tokens == response.usage.prompt_tokens

    for bad in (0, 21, "8"):
        with pytest.raises(openai.BadRequestError) as caught:
            agent.chat.completions.create(
                model="gpt-5.2", messages=[{"role": "user", "content": "1"}], extra_body={"max_steps": bad}
            )
        assert caught.value.body["param"] == "max_steps"


def test_client_tools_come_back_to_the_client(agent, upstream):
    marker = uuid.uuid4().hex[:10]
    messages = [{"role": "user", "content": f"weather in Paris {marker}"}]
    first = agent.chat.completions.create(
        model="gpt-5.2",
        messages=messages,
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        extra_body={"server_tools": ["calculator", "current_time"]},
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and first.agent["stop_reason"] == "client_tool_calls"
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments)["city"]
    assert first.steps[0]["tool_calls"][0]["status"] == "client"
    (sent,) = _sent(upstream, marker)
    assert [t["function"]["name"] for t in sent["tools"]] == ["calculator", "current_time", "get_weather"]
    assert sent["tool_choice"]["function"]["name"] == "get_weather"

    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "22 degrees"},
    ]
    second = agent.chat.completions.create(
        model="gpt-5.2", messages=messages, tools=[WEATHER], extra_body={"server_tools": ["calculator"]}
    )
    assert second.choices[0].message.content == "Tool result: 22 degrees"
    assert second.agent["stop_reason"] == "final_answer"


def test_no_server_tools_is_plain_chat(agent):
    response = agent.chat.completions.create(
        model="gpt-5.2", messages=[{"role": "user", "content": "just talk"}], extra_body={"server_tools": []}
    )
    assert response.choices[0].message.content == "Echo: just talk"
    assert len(response.steps) == 1 and response.agent["server_tools"] == []


def test_streaming_sends_each_step_then_the_answer(agent, app):
    stream = agent.chat.completions.create(
        model="gpt-5.2",
        messages=[{"role": "user", "content": "(1 + 2) ** 3"}],
        stream=True,
        extra_body={"server_tools": ["calculator"]},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" and c.model == "gpt-5.2" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    events = [c.agent_event for c in chunks if getattr(c, "agent_event", None)]
    assert [e["type"] for e in events] == ["tool_call", "tool_result", "step", "step"]
    assert events[0]["name"] == "calculator" and json.loads(events[0]["arguments"]) == {"expression": "(1 + 2) ** 3"}
    assert json.loads(events[1]["result"])["result"] == 27 and events[1]["status"] == "ok"
    assert all(not c.choices for c in chunks if getattr(c, "agent_event", None))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("Tool result: ") and '"result": 27' in text
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    last = chunks[-1]
    assert last.choices == [] and last.agent["stop_reason"] == "final_answer"
    rows = _rows(app, [e["request_id"] for e in events if e["type"] == "step"])
    assert all(r.model_id == "gpt-5.2" and r.stream for r in rows)
    assert last.usage.prompt_tokens == sum(r.input_tokens for r in rows)
    assert last.usage.completion_tokens == sum(r.output_tokens for r in rows) > 0


def test_stream_is_sse_ending_with_done_and_client_tools_stream_back(live, key):
    response = requests.post(
        live.url + "/api/v1/agents/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={
            "model": "gpt-5.2",
            "stream": True,
            "tools": [WEATHER],
            "server_tools": [],
            "messages": [{"role": "user", "content": "Paris"}],
        },
        timeout=30,
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-request-id"].startswith("req_")
    blocks = [b for b in response.text.split("\n\n") if b]
    assert all(b.startswith("data: ") for b in blocks) and blocks[-1] == "data: [DONE]"
    chunks = [json.loads(b[6:]) for b in blocks[:-1]]
    calls = [tc for c in chunks for ch in c["choices"] for tc in ch["delta"].get("tool_calls") or ()]
    assert [tc["function"]["name"] for tc in calls] == ["get_weather"] and calls[0]["index"] == 0
    assert [ch["finish_reason"] for c in chunks for ch in c["choices"] if ch["finish_reason"]] == ["tool_calls"]


def test_a_stream_the_client_leaves_is_settled(live, key, account, app):
    """The client reads the first event and goes: every step's call is settled, no credit stays held."""
    from lumyx.db import db
    from lumyx.db.models import Hold, UsageRecord

    with requests.post(
        live.url + "/v1/agents/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        stream=True,
        timeout=30,
        json={
            "model": "gpt-5.2",
            "stream": True,
            "server_tools": ["calculator"],
            "messages": [{"role": "user", "content": "[[scenario:long:400]] 6 * 7"}],
        },
    ) as response:
        assert response.status_code == 200
        next(response.iter_lines())
    deadline = time.monotonic() + 10
    while True:
        with app.app_context():
            holds = db.session.query(Hold).filter_by(user_id=account[0]).count()
            rows = db.session.query(UsageRecord).filter_by(user_id=account[0]).all()
        if (holds == 0 and rows) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert holds == 0 and rows and all(r.model_id == "gpt-5.2" for r in rows)


def test_bad_agent_requests(agent, live, key):
    cases = [
        ({"server_tools": ["rm_rf"]}, "server_tools[0]", "gpt-5.2"),
        ({"server_tools": "calculator"}, "server_tools", "gpt-5.2"),
        ({"n": 2}, "n", "gpt-5.2"),
        ({"server_tools": ["calculator"]}, "server_tools", "plain-chat"),
        ({"tools": [{"type": "function", "function": {"name": "calculator"}}]}, "tools[0]", "gpt-5.2"),
        ({"messages": []}, "messages", "gpt-5.2"),
    ]
    for extra, param, model in cases:
        body = {"model": model, "messages": [{"role": "user", "content": "x"}], **extra}
        response = requests.post(
            live.url + "/v1/agents/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}, timeout=30
        )
        assert response.status_code == 400, (extra, response.text)
        assert response.json()["error"]["param"] == param
    with pytest.raises(openai.NotFoundError):
        agent.chat.completions.create(model="persona:nobody", messages=[{"role": "user", "content": "x"}])
    assert requests.post(live.url + "/v1/agents/chat/completions", json={}, timeout=10).status_code == 401


# -- HTTP tools ------------------------------------------------------------------


class _Target(ThreadingHTTPServer):
    """A local HTTP server an HTTP tool points at; it counts every connection."""

    daemon_threads = True

    def __init__(self):
        self.connections = 0
        self.paths: list[str] = []
        self.drip_ended = threading.Event()  # the client of /drip went away
        super().__init__(("127.0.0.1", 0), _TargetHandler)

    def verify_request(self, request, client_address) -> bool:
        self.connections += 1
        return True


class _TargetHandler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json", **headers) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        parts = urlsplit(self.path)
        if parts.path == "/redirect":
            self._send(302, b"", "text/plain", location="http://127.0.0.1:9/elsewhere")
        elif parts.path == "/big":
            self._send(200, b"x" * 200_000, "text/plain")
        elif parts.path == "/drip":
            self._drip()
        else:
            self._send(200, json.dumps({"path": parts.path, "query": parse_qs(parts.query)}).encode())

    def _drip(self) -> None:
        """A 1,000-byte answer sent one byte every 2 s: each read is in time for a read timeout."""
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", "1000")
        self.end_headers()
        try:
            for _ in range(1000):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(2)
        except OSError:
            pass
        finally:
            self.server.drip_ended.set()

    def do_POST(self) -> None:
        self.server.paths.append(self.path)
        length = int(self.headers.get("content-length") or 0)
        self._send(200, json.dumps({"posted": json.loads(self.rfile.read(length) or b"null")}).encode())


@pytest.fixture
def target():
    server = _Target()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _http_persona(session: requests.Session, base: str, tools: list[dict]) -> str:
    slug = f"http-{uuid.uuid4().hex[:8]}"
    created = session.post(
        base + "/v1/personas", json={"name": "HTTP", "slug": slug, "model": "gpt-5.2", "http_tools": tools}, timeout=10
    )
    assert created.status_code == 201, created.text
    return slug


def _lookup(url: str, method: str = "GET") -> dict:
    return {
        "name": "lookup",
        "description": "Look a city up",
        "url": url,
        "method": method,
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }


def test_http_tools_are_refused_when_the_host_is_not_allowed(live, key, target):
    """The session server allows no hosts: the tool's call is refused before any connection."""
    session = requests.Session()
    session.headers["authorization"] = f"Bearer {key}"
    slug = _http_persona(session, live.url, [_lookup(f"http://127.0.0.1:{target.server_port}/city")])
    response = session.post(
        live.url + "/v1/agents/chat/completions",
        timeout=30,
        json={
            "model": f"persona:{slug}",
            "server_tools": ["lookup"],
            "messages": [{"role": "user", "content": "Oslo"}],
        },
    )
    assert response.status_code == 200, response.text
    call = response.json()["steps"][0]["tool_calls"][0]
    assert call["name"] == "lookup" and call["status"] == "error"
    assert "disabled" in json.loads(call["result"])["error"]
    assert target.connections == 0 and target.paths == []


@pytest.fixture(scope="module")
def allowing_server(app, server_env, tmp_path_factory):
    """A second gateway on the same database whose operator allows 127.0.0.1 for HTTP tools."""
    server = LiveServer(
        {**server_env, "LUMYX_AGENT_HTTP_HOSTS": "127.0.0.1, tools.example.com"},
        tmp_path_factory.mktemp("agent-logs") / "gunicorn.log",
        workers=1,
    )
    yield server
    server.proc.send_signal(signal.SIGQUIT)  # quick shutdown: no wait for idle keep-alive connections
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    server.stop()


def test_http_tools_run_on_allowed_hosts_only(allowing_server, key, target):
    base = allowing_server.url
    session = requests.Session()
    session.headers["authorization"] = f"Bearer {key}"
    port = target.server_port

    def run(tool: dict, text: str = "Oslo") -> dict:
        slug = _http_persona(session, base, [tool])
        response = session.post(
            base + "/api/v1/agents/chat/completions",
            timeout=30,
            json={"model": f"persona:{slug}", "messages": [{"role": "user", "content": text}]},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["agent"]["server_tools"] == ["calculator", "current_time", "search_docs", "lookup"]
        return body

    # The stand-in calls the first tool it is offered: offer only the HTTP tool.
    def run_only(tool: dict, text: str = "Oslo") -> dict:
        slug = _http_persona(session, base, [tool])
        response = session.post(
            base + "/api/v1/agents/chat/completions",
            timeout=30,
            json={
                "model": f"persona:{slug}",
                "server_tools": ["lookup"],
                "messages": [{"role": "user", "content": text}],
            },
        )
        assert response.status_code == 200, response.text
        return response.json()["steps"][0]["tool_calls"][0]

    assert "lookup" in run(_lookup(f"http://127.0.0.1:{port}/city"))["agent"]["server_tools"]

    call = run_only(_lookup(f"http://127.0.0.1:{port}/city"))
    assert call["status"] == "ok", call
    result = json.loads(call["result"])
    assert result["status"] == 200 and result["body"] == {"path": "/city", "query": {"city": ["Oslo"]}}
    assert target.connections == 1

    posted = json.loads(run_only(_lookup(f"http://127.0.0.1:{port}/city", "POST"), "Bergen")["result"])
    assert posted["body"] == {"posted": {"city": "Bergen"}}

    redirect = json.loads(run_only(_lookup(f"http://127.0.0.1:{port}/redirect"))["result"])
    assert redirect["status"] == 302 and redirect["redirect_not_followed"] == "http://127.0.0.1:9/elsewhere"

    big = json.loads(run_only(_lookup(f"http://127.0.0.1:{port}/big"))["result"])
    assert big["truncated"] is True and len(big["body"]) == 32 * 1024
    assert target.paths == ["/city?city=Oslo", "/city", "/redirect?city=Oslo", "/big?city=Oslo"]
    seen = target.connections

    # localhost names the same machine, but the operator listed 127.0.0.1 only.
    refused = run_only(_lookup(f"http://localhost:{port}/city"))
    assert refused["status"] == "error" and "not allowed" in json.loads(refused["result"])["error"]
    assert target.connections == seen, "refused without any connection"


def test_an_http_tool_that_drips_is_cut_at_its_total_deadline(allowing_server, key, target):
    """A tool's server sending a byte every 2 s never trips the 5 s read timeout; the
    10 s in all is a timer that cuts the call, and the agent's request goes on."""
    session = requests.Session()
    session.headers["authorization"] = f"Bearer {key}"
    slug = _http_persona(session, allowing_server.url, [_lookup(f"http://127.0.0.1:{target.server_port}/drip")])
    started = time.monotonic()
    response = session.post(
        allowing_server.url + "/v1/agents/chat/completions",
        timeout=25,
        json={
            "model": f"persona:{slug}",
            "server_tools": ["lookup"],
            "messages": [{"role": "user", "content": "Oslo"}],
        },
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    call = response.json()["steps"][0]["tool_calls"][0]
    assert call["status"] == "error" and "longer than 10 s" in json.loads(call["result"])["error"], call
    assert 9.5 < elapsed < 15, elapsed
    # The socket was cut: the dripping server's writes fail within a couple of bytes.
    assert target.drip_ended.wait(10)
