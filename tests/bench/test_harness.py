"""The benchmark's own parts measure what they claim: the upstream stand-in speaks
both wire formats to the official SDKs, the load generator times what the upstream
does, and Lumyx as the benchmark starts it meters every request it serves."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import anthropic
import openai
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import loadgen  # noqa: E402
import lumyx_server  # noqa: E402

from tests.support.servers import free_port  # noqa: E402


@pytest.fixture(scope="module")
def stand_in():
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "upstream.py"), "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    line = proc.stdout.readline()
    assert line.startswith("upstream listening on "), line
    url = line.split()[-1]
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def configure(url: str, **settings) -> None:
    requests.post(url + "/_bench/config", json=settings, timeout=5).raise_for_status()


SEVEN = "lorem ipsum dolor sit amet consectetur adipiscing "


def test_the_stand_in_speaks_both_formats_to_the_official_sdks(stand_in):
    configure(stand_in, latency_ms=0, chunks=7, chunk_delay_ms=0)
    client = openai.OpenAI(base_url=stand_in + "/v1", api_key="sk-bench")
    reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == SEVEN and reply.usage.completion_tokens == 7
    chunks = list(
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == SEVEN
    assert chunks[-1].usage.completion_tokens == 7

    claude = anthropic.Anthropic(base_url=stand_in, api_key="sk-bench")
    message = claude.messages.create(model="c", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text == SEVEN and message.usage.output_tokens == 7
    with claude.messages.stream(model="c", max_tokens=50, messages=[{"role": "user", "content": "hi"}]) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == SEVEN and final.usage.output_tokens == 7 and final.stop_reason == "end_turn"


def test_the_load_generator_times_what_the_upstream_does(stand_in):
    configure(stand_in, latency_ms=40, chunks=20, chunk_delay_ms=0)
    plain = loadgen.run(loadgen.sequential(loadgen.make_target(stand_in + "/v1", "k", "openai", "m"), 10))
    assert plain.ok_count == 10
    assert 0.040 <= plain.latency_pcts()["p50"] < 0.060

    configure(stand_in, latency_ms=0, chunks=10, chunk_delay_ms=20)
    one = requests.post(
        stand_in + "/v1/chat/completions",
        timeout=5,
        stream=True,
        json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    )
    texts = [line for line in one.iter_lines() if b'"content"' in line]
    assert len(texts) == 11 and len(set(texts[1:])) == 10  # role chunk, then ten different tokens
    target = loadgen.make_target(stand_in + "/v1", "k", "anthropic", "c", stream=True)
    streams = loadgen.run(loadgen.concurrent_streams(target, 20, ramp_s=0.2, timeout_s=30))
    assert streams.ok_count == 20 and not streams.lagged
    assert all(s.events >= 10 for s in streams.samples)
    assert 0.015 <= streams.gap_pcts()["p50"] <= 0.030
    # ten chunks twenty milliseconds apart: the last arrives about 180 ms after the first
    assert 0.17 <= streams.latency_pcts()["p50"] < 0.5


def test_lumyx_as_benchmarked_meters_every_request(stand_in, tmp_path):
    configure(stand_in, latency_ms=0, chunks=20, chunk_delay_ms=0)
    backend = "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    lumyx = lumyx_server.start(backend, stand_in, free_port(), tmp_path / "lumyx", workers=2)
    try:
        base = lumyx.url + "/v1"
        plain = loadgen.run(
            loadgen.sequential(loadgen.make_target(base, lumyx.key, "openai", "bench-gpt"), 12, warmup=0)
        )
        streamed = loadgen.run(
            loadgen.concurrent_streams(
                loadgen.make_target(base, lumyx.key, "anthropic", "bench-claude", stream=True), 8, ramp_s=0.2
            )
        )
        translated = loadgen.run(
            loadgen.sequential(loadgen.make_target(base, lumyx.key, "openai", "bench-claude", stream=True), 5, warmup=0)
        )
        assert (plain.ok_count, streamed.ok_count, translated.ok_count) == (12, 8, 5)
        headers = {"Authorization": f"Bearer {lumyx.key}"}
        limited = requests.post(
            base + "/chat/completions",
            headers=headers,
            timeout=10,
            json={"model": "bench-gpt", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5},
        )
        assert limited.headers["X-RateLimit-Limit"] == "100000000"  # the pro plan's limit, raised
        deadline = time.monotonic() + 10
        while True:
            usage = requests.get(base + "/usage", headers=headers, timeout=10).json()
            if usage["pagination"]["total"] == 26 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert usage["pagination"]["total"] == 26
        assert {m["model_id"]: m["requests"] for m in usage["by_model"]} == {"bench-gpt": 13, "bench-claude": 13}
        assert usage["account"]["credits_remaining"] < 100_000_000
    finally:
        lumyx.stop()


@pytest.mark.parametrize("peer", ["portkey_gateway", "nginx_proxy"])
def test_the_peers_serve_every_format_plain_and_streamed(stand_in, tmp_path, peer):
    """Portkey's gateway and nginx, as bench/run.py starts them, carry chat completions,
    Anthropic messages and the Responses API to the stand-in, plain and streamed (each stream
    to its terminal event); Portkey also translates an OpenAI client's chat to Anthropic's."""
    module = __import__(peer)
    if not module.installed():
        pytest.skip(f"{peer} is not installed (make bench-portkey / make nginx)")
    configure(stand_in, latency_ms=0, chunks=20, chunk_delay_ms=0)
    port = int(stand_in.rsplit(":", 1)[1])
    way = (
        module.start(free_port(), stand_in, tmp_path / peer)
        if peer == "portkey_gateway"
        else module.start(free_port(), port, tmp_path / peer, workers=1)
    )
    cases = [("openai", "bench-gpt"), ("anthropic", "bench-claude"), ("responses", "bench-responses")]
    if peer == "portkey_gateway":
        cases.append(("openai", "bench-claude"))
    try:
        for fmt, model in cases:
            for stream in (False, True):
                extra = way.headers(fmt, model) if peer == "portkey_gateway" else None
                target = loadgen.make_target(way.url + "/v1", "sk-bench", fmt, model, stream, extra_headers=extra)
                r = loadgen.run(loadgen.sequential(target, 3, warmup=0))
                assert r.ok_count == 3, (fmt, model, stream, r.errors())
                assert not stream or min(s.events for s in r.samples) >= 20
    finally:
        way.stop()
    assert way.process.poll() is not None
