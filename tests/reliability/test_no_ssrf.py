"""Image URLs go to the upstream as they are: the gateway never fetches them."""

from __future__ import annotations

import socket
import threading

import pytest
import requests


@pytest.fixture
def listener():
    """A local port that records every connection made to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.2)
    seen: list = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, addr = sock.accept()
                seen.append(addr)
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield sock.getsockname()[1], seen
    stop.set()
    thread.join()
    sock.close()


@pytest.mark.parametrize(
    "path, model, image",
    [
        ("/v1/chat/completions", "gpt-5.2", lambda url: {"type": "image_url", "image_url": {"url": url}}),
        ("/v1/chat/completions", "lumyx-plus_v1", lambda url: {"type": "image_url", "image_url": {"url": url}}),
        ("/v1/messages", "lumyx-plus_v1", lambda url: {"type": "image", "source": {"type": "url", "url": url}}),
        ("/v1/messages", "gpt-5.2", lambda url: {"type": "image", "source": {"type": "url", "url": url}}),
        ("/v1/chat/completions", "lumyx-local", lambda url: {"type": "image_url", "image_url": {"url": url}}),
    ],
)
def test_image_urls_are_never_fetched(live, key, upstream, listener, path, model, image):
    port, seen = listener
    url = f"http://127.0.0.1:{port}/internal/secret.png"
    response = requests.post(
        live.url + path,
        timeout=30,
        headers={"Authorization": f"Bearer {key}"},
        json={
            "model": model,
            "max_tokens": 20,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "what is this?"}, image(url)]}],
        },
    )
    assert response.status_code == 200, response.text
    assert seen == [], "the gateway connected to the image URL"
    if model != "lumyx-local":
        assert url in str(upstream.requests(limit=1)[-1]["body"]), "the URL went to the upstream as it was"
