"""Clients for the live server, configured exactly as the docs show them."""

from __future__ import annotations

import pytest
import requests
from openai import OpenAI


@pytest.fixture
def openai_client(live, key):
    return OpenAI(base_url=live.url + "/v1", api_key=key, max_retries=0, timeout=30)


@pytest.fixture
def api(live, key):
    """A plain HTTP client with the key, for what the SDK would not send."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"

    def call(method: str, path: str, **kwargs) -> requests.Response:
        return session.request(method, live.url + path, timeout=30, **kwargs)

    return call
