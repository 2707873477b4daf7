"""Legacy completions, embeddings, models and health."""

from __future__ import annotations

import base64
import struct

import pytest
import requests


def test_legacy_completions(openai_client):
    response = openai_client.completions.create(model="gpt-5.2", prompt="Once upon a time", max_tokens=20)
    assert response.object == "text_completion"
    assert response.model == "gpt-5.2"
    assert response.choices[0].text
    assert response.usage.prompt_tokens > 0


def test_legacy_completions_stream_on_the_local_model(openai_client):
    pieces = [
        c.choices[0].text
        for c in openai_client.completions.create(model="lumyx-local", prompt="Once upon a time", stream=True)
        if c.choices
    ]
    assert "".join(pieces).strip().endswith("Once upon a time")


@pytest.mark.parametrize("model, dims", [("lumyx-local-embed", 256), ("fake-embed", 1536)])
def test_embeddings(openai_client, model, dims):
    response = openai_client.embeddings.create(model=model, input=["first text", "second text"])
    assert response.model == model
    assert [d.index for d in response.data] == [0, 1]
    assert all(len(d.embedding) == dims for d in response.data)
    assert response.usage.prompt_tokens > 0


def test_embeddings_dimensions_and_base64(openai_client, api):
    response = api(
        "POST",
        "/v1/embeddings",
        json={"model": "lumyx-local-embed", "input": "hello", "dimensions": 64, "encoding_format": "base64"},
    )
    vector = struct.unpack("<64f", base64.b64decode(response.json()["data"][0]["embedding"]))
    assert abs(sum(v * v for v in vector) - 1) < 1e-5
    # The SDK asks for base64 by default and decodes it itself.
    assert (
        len(openai_client.embeddings.create(model="lumyx-local-embed", input="hi", dimensions=32).data[0].embedding)
        == 32
    )


def test_chat_model_is_not_an_embedding_model(api):
    response = api("POST", "/v1/embeddings", json={"model": "lumyx-local", "input": "x"})
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request"
    response = api(
        "POST",
        "/v1/chat/completions",
        json={"model": "lumyx-local-embed", "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.status_code == 400


def test_models_list_for_the_sdk(openai_client):
    models = {m.id: m for m in openai_client.models.list()}
    assert {"lumyx-local", "gpt-5.2", "lumyx-local-embed"} <= set(models)
    gpt = models["gpt-5.2"]
    assert gpt.object == "model" and gpt.owned_by == "fake-openai" and gpt.created > 0
    extra = gpt.model_extra
    assert extra["context_length"] == 400000
    assert extra["pricing"]["prompt"] == "0.00000175" and extra["pricing"]["completion"] == "0.000014"
    assert extra["architecture"]["input_modalities"] == ["text", "image"]
    assert {"tools", "tool_choice", "reasoning", "response_format", "max_tokens"} <= set(extra["supported_parameters"])
    assert "tools" not in models["plain-chat"].model_extra["supported_parameters"]
    assert models["lumyx-local-embed"].model_extra["architecture"]["output_modalities"] == ["embeddings"]


def test_model_by_id_including_slashes(openai_client, api):
    assert openai_client.models.retrieve("gpt-5.2").id == "gpt-5.2"
    response = api("GET", "/api/v1/models/no-such-model")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": "The model 'no-such-model' does not exist or is not available.",
            "type": "model_not_found",
            "code": 404,
        }
    }


def test_health_needs_no_key(live):
    response = requests.get(live.url + "/v1/health", timeout=5)
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert requests.get(live.url + "/api/v1/health", timeout=5).status_code == 200


def test_liveness_and_readiness_need_no_key(live):
    live_answer = requests.get(live.url + "/v1/health/live", timeout=5)
    assert live_answer.status_code == 200 and live_answer.json() == {"status": "ok"}
    ready = requests.get(live.url + "/api/v1/health/ready", timeout=5)
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    assert ready.headers["Cache-Control"] == "no-store"
