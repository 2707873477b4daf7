"""A gateway of its own for the routing tests: three upstream stand-ins (A, B, C),
a fresh database, a catalog whose models spread over them, and gunicorn with two
workers — so breakers and conversations are shared between processes as in
production (Redis when REDIS_URL is set, else the host's file on SQLite or the
database on PostgreSQL). Cool-downs are short (COOLDOWN_S) so that tests can
wait one out."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import bindparam, create_engine, text

from tests.fakes.upstream import UpstreamProcess, start_process
from tests.support.catalog import UPSTREAM_KEY
from tests.support.servers import LiveServer, TestDatabase, flask_cli

COOLDOWN_S = 4
# Every model below costs 2 USD per 1M prompt tokens and 8 per 1M output tokens:
# 200 and 800 µcr a token (100 credits = 1 USD, 1 credit = 1,000,000 µcr).
MICRO_PER_PROMPT_TOKEN, MICRO_PER_OUTPUT_TOKEN = 200, 800

MODELS = """
  - id: balanced
    name: Balanced over three routes
    routing: balance
    pricing: {{input: 2.0, output: 8.0}}
    routes:
      - {{provider: up-a, model: bal-a, weight: 1}}
      - {{provider: up-b, model: bal-b, weight: 3}}
      - {{provider: up-c, model: bal-c, weight: 0}}
  - id: guarded
    name: Falls back from B to C
    pricing: {{input: 2.0, output: 8.0}}
    routes:
      - {{provider: up-b, model: guarded-b}}
      - {{provider: up-c, model: guarded-c}}
  - id: shared-guard
    name: Falls back from B to C (breaker shared by workers)
    pricing: {{input: 2.0, output: 8.0}}
    routes:
      - {{provider: up-b, model: shared-b}}
      - {{provider: up-c, model: shared-c}}
  - id: all-down
    name: Every route fails
    pricing: {{input: 2.0, output: 8.0}}
    routes:
      - {{provider: up-a, model: fake-status-503}}
      - {{provider: up-b, model: fake-status-502}}
  - id: sticky
    name: Balanced over A and B
    routing: balance
    pricing: {{input: 2.0, output: 8.0}}
    routes:
      - {{provider: up-a, model: sticky-a}}
      - {{provider: up-b, model: sticky-b}}
  - id: sticky-claude
    name: Balanced over A and B, Anthropic upstreams
    routing: balance
    pricing: {{input: 2.0, output: 8.0}}
    routes:
      - {{provider: up-a-anthropic, model: claude-a}}
      - {{provider: up-b-anthropic, model: claude-b}}
"""


def catalog_yaml(a: str, b: str, c: str) -> str:
    providers = "".join(
        f'  - {{id: up-{name}, kind: openai, base_url: "{url}/v1", api_key_env: FAKE_OPENAI_KEY, timeout_s: 5}}\n'
        f'  - {{id: up-{name}-anthropic, kind: anthropic, base_url: "{url}", api_key_env: FAKE_OPENAI_KEY}}\n'
        for name, url in (("a", a), ("b", b), ("c", c))
    )
    return "providers:\n" + providers + "models:\n" + MODELS.format()


class RoutingCluster:
    def __init__(self, tmp: Path, *, without_redis: bool = False):
        self.upstreams: dict[str, UpstreamProcess] = {name: start_process() for name in "abc"}
        self.database = TestDatabase(tmp)
        catalog = tmp / "catalog.yaml"
        catalog.write_text(catalog_yaml(*(u.url for u in self.upstreams.values())))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LUMYX_", "STRIPE_"))}
        if without_redis:
            env.pop("REDIS_URL", None)
        env.update(
            {
                "DATABASE_URL": self.database.url,
                "LUMYX_CATALOG": str(catalog),
                "SECRET_KEY": "test-secret-key",
                "FAKE_OPENAI_KEY": UPSTREAM_KEY,
                "LUMYX_RATELIMIT_PREFIX": "test-" + uuid.uuid4().hex[:8],
                "LUMYX_BREAKER_COOLDOWN_S": str(COOLDOWN_S),
            }
        )
        self.env = env
        flask_cli(env, "db", "upgrade")
        flask_cli(env, "prepare")
        email = f"router-{uuid.uuid4().hex[:8]}@example.com"
        flask_cli(env, "create-user", email, "--password", "correct horse battery", "--plan", "enterprise")
        flask_cli(env, "add-credits", email, "1000")
        self.key = flask_cli(env, "create-key", email).stdout.strip().splitlines()[-1]
        self.server = LiveServer(env, tmp / "gunicorn.log", workers=2)
        self.url = self.server.url
        self.engine = create_engine(self.database.url)

    def chat(self, model: str, content: str = "hello", session: requests.Session | None = None, **extra):
        """A chat completion (a new connection unless ``session`` is given)."""
        sender = session or requests
        return sender.post(
            self.url + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {self.key}"},
            json={"model": model, "messages": [{"role": "user", "content": content}], **extra},
            timeout=30,
        )

    def asked(self, name: str, upstream_model: str, since: float = 0.0) -> list[dict]:
        """The requests stand-in ``name`` received for ``upstream_model`` (after the
        epoch time ``since``), oldest first."""
        return [
            r
            for r in self.upstreams[name].requests("/v1/chat/completions")
            if r["body"]["model"] == upstream_model and r["time"] > since
        ]

    def usage(self, request_ids: list[str]) -> dict[str, tuple]:
        """(model_id, provider_id, upstream_model, cost µcr, input, output, status) by
        request id, once every one is written (a call is settled after its answer)."""
        query = text(
            "SELECT id, model_id, provider_id, upstream_model, cost, input_tokens, output_tokens,"
            " status_code FROM usage_records WHERE id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        deadline = time.monotonic() + 20
        while True:
            with self.engine.connect() as conn:
                found = {row[0]: tuple(row[1:]) for row in conn.execute(query, {"ids": list(request_ids)})}
            if len(found) == len(set(request_ids)) or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.stop()
        self.engine.dispose()
        for upstream in self.upstreams.values():
            upstream.stop()
        self.database.drop()


def assert_billed_exactly(rows: dict, model: str) -> None:
    """Each usage row (RoutingCluster.usage) names the route that served and is
    charged the model's price for the tokens it shows."""
    for model_id, provider_id, upstream_model, cost, prompt, completion, status in rows.values():
        assert (model_id, status) == (model, 200)
        assert provider_id == "up-" + upstream_model.split("-")[-1][0] + (
            "-anthropic" if "claude" in upstream_model else ""
        )
        assert prompt > 0 and completion > 0
        assert cost == prompt * MICRO_PER_PROMPT_TOKEN + completion * MICRO_PER_OUTPUT_TOKEN
