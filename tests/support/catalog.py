"""The catalog the suite runs on: the default catalog's local models plus
models routed to the upstream stand-in, to dead and keyless providers."""

from __future__ import annotations

UPSTREAM_KEY = "upstream-test-key"


def catalog_yaml(upstream_url: str) -> str:
    return f"""
providers:
  - {{id: local, kind: local}}
  - {{id: fake-openai, kind: openai, base_url: "{upstream_url}/v1", api_key_env: FAKE_OPENAI_KEY, timeout_s: 5}}
  - {{id: fake-anthropic, kind: anthropic, base_url: "{upstream_url}", api_key_env: FAKE_ANTHROPIC_KEY, timeout_s: 5}}
  - {{id: fake-responses, kind: openai-responses, base_url: "{upstream_url}/v1", api_key_env: FAKE_OPENAI_KEY, timeout_s: 5}}
  - {{id: dead, kind: openai, base_url: "http://127.0.0.1:9/v1", api_key_env: FAKE_OPENAI_KEY, timeout_s: 2}}
  - {{id: keyless, kind: openai, base_url: "{upstream_url}/v1", api_key_env: LUMYX_TEST_NEVER_SET_KEY}}
  - {{id: wrong-key, kind: openai, base_url: "{upstream_url}/v1", api_key_env: WRONG_UPSTREAM_KEY}}
  - {{id: cache-openai, kind: openai, base_url: "{upstream_url}/v1", api_key_env: FAKE_OPENAI_KEY, timeout_s: 5}}
  - {{id: cache-anthropic, kind: anthropic, base_url: "{upstream_url}", api_key_env: FAKE_ANTHROPIC_KEY, timeout_s: 5}}
  - {{id: cache-responses, kind: openai-responses, base_url: "{upstream_url}/v1", api_key_env: FAKE_OPENAI_KEY, timeout_s: 5}}
models:
  - id: lumyx-local
    name: Lumyx Local
    context_length: 32768
    max_output_tokens: 4096
    pricing: {{input: 0, output: 0}}
    modalities: {{input: [text, image], output: [text]}}
    capabilities: [tools, vision, reasoning, json_mode]
    routes: [{{provider: local, model: lumyx-local}}]
  - id: lumyx-local-embed
    name: Lumyx Local Embed
    pricing: {{input: 0, output: 0}}
    modalities: {{input: [text], output: [embeddings]}}
    routes: [{{provider: local, model: lumyx-local-embed}}]
  - id: gpt-5.2
    name: GPT-5.2
    context_length: 400000
    max_output_tokens: 128000
    pricing: {{input: 1.75, output: 14.0}}
    modalities: {{input: [text, image], output: [text]}}
    capabilities: [tools, vision, reasoning, json_mode]
    routes: [{{provider: fake-openai, model: upstream-gpt}}]
  - id: lumyx-plus_v1
    name: Lumyx Plus v1 (Anthropic upstream)
    context_length: 200000
    max_output_tokens: 64000
    pricing: {{input: 3.0, output: 15.0}}
    modalities: {{input: [text, image], output: [text]}}
    capabilities: [tools, vision, reasoning, json_mode]
    routes: [{{provider: fake-anthropic, model: claude-sonnet-4-5-20250929}}]
  - id: responses-pro
    name: Responses Pro (Responses API upstream)
    context_length: 128000
    max_output_tokens: 32000
    pricing: {{input: 1.25, output: 10.0}}
    capabilities: [tools, reasoning, json_mode]
    routes: [{{provider: fake-responses, model: upstream-responses}}]
  - id: responses-fallback
    name: Falls back from failing Responses routes
    pricing: {{input: 0, output: 0}}
    routes:
      - {{provider: fake-responses, model: fake-status-503}}
      - {{provider: fake-responses, model: "fake-failed:rate_limit_exceeded"}}
      - {{provider: fake-responses, model: upstream-responses-fallback}}
  - id: responses-failing
    name: Its Responses route fails
    pricing: {{input: 0, output: 0}}
    routes: [{{provider: fake-responses, model: "fake-failed:server_error"}}]
  - id: plain-chat
    name: Plain chat (no capabilities)
    context_length: 8192
    max_output_tokens: 1000
    pricing: {{input: 0, output: 0}}
    routes: [{{provider: fake-openai, model: upstream-plain}}]
  - id: fallback-chat
    name: Falls back from a dead provider
    pricing: {{input: 0, output: 0}}
    capabilities: [tools]
    routes:
      - {{provider: dead, model: never}}
      - {{provider: wrong-key, model: upstream-wrong-key}}
      - {{provider: fake-openai, model: fake-status-503}}
      - {{provider: fake-openai, model: upstream-fallback}}
  - id: failing-chat
    name: Every route fails
    pricing: {{input: 0, output: 0}}
    routes:
      - {{provider: fake-openai, model: fake-status-500}}
      - {{provider: fake-openai, model: fake-status-502}}
  - id: limited-chat
    name: Upstream rate limited
    pricing: {{input: 0, output: 0}}
    routes: [{{provider: fake-openai, model: fake-status-429}}]
  - id: nokey-chat
    name: Provider key missing
    pricing: {{input: 0, output: 0}}
    routes: [{{provider: keyless, model: anything}}]
  - id: nokey-priced
    name: Priced, provider key missing
    pricing: {{input: 3.0, output: 15.0}}
    routes: [{{provider: keyless, model: anything}}]
  - id: fake-embed
    name: Upstream embeddings
    pricing: {{input: 0.02, output: 0}}
    modalities: {{input: [text], output: [embeddings]}}
    routes: [{{provider: fake-openai, model: upstream-embed}}]
  # Cache prices on each upstream format (tests/billing/test_cache_billing.py); providers of
  # their own, so the catalog pages' provider filters list what they did before.
  - id: cache-claude
    name: Cache prices, Anthropic upstream
    pricing: {{input: 3.0, output: 15.0, cache_read: 0.3, cache_write: 3.75, cache_write_1h: 6.0}}
    capabilities: [tools]
    routes: [{{provider: cache-anthropic, model: claude-sonnet-4-5-20250929}}]
  - id: cache-gpt
    name: Cache prices, OpenAI upstream
    pricing: {{input: 1.75, output: 14.0, cache_read: 0.175, cache_write: 2.1875}}
    routes: [{{provider: cache-openai, model: upstream-gpt}}]
  - id: cache-responses
    name: Cache prices, Responses upstream
    pricing: {{input: 1.25, output: 10.0, cache_read: 0.125}}
    routes: [{{provider: cache-responses, model: upstream-responses}}]
  # Routing preferences and model fallbacks (tests/api/test_routing_preferences.py,
  # tests/api/test_model_fallbacks.py): one model on three stand-in routes, one per
  # upstream format; priced models whose one route fails, a cheaper and a dearer one
  # that serve, and one without tools.
  - id: three-routes
    name: Three routes, one per upstream format
    pricing: {{input: 0, output: 0}}
    capabilities: [tools]
    routes:
      - {{provider: fake-openai, model: route-openai}}
      - {{provider: fake-anthropic, model: route-anthropic}}
      - {{provider: fake-responses, model: route-responses}}
  - id: three-routes-unmeasured
    name: Three routes that only the sorting test asks
    pricing: {{input: 0, output: 0}}
    routes:
      - {{provider: fake-openai, model: unmeasured-openai}}
      - {{provider: fake-anthropic, model: unmeasured-anthropic}}
      - {{provider: fake-responses, model: unmeasured-responses}}
  - id: priced-down
    name: Priced, its route fails
    max_output_tokens: 1000
    pricing: {{input: 1.0, output: 2.0}}
    capabilities: [tools]
    routes: [{{provider: fake-openai, model: fake-status-503}}]
  - id: priced-cheap
    name: Priced, cheaper
    max_output_tokens: 1000
    pricing: {{input: 0.5, output: 1.0}}
    capabilities: [tools]
    routes: [{{provider: fake-anthropic, model: claude-cheap}}]
  - id: priced-dear
    name: Priced, dearer
    max_output_tokens: 1000
    pricing: {{input: 5.0, output: 25.0}}
    capabilities: [tools]
    routes: [{{provider: fake-responses, model: upstream-dear}}]
  - id: priced-no-tools
    name: Priced, no tools
    pricing: {{input: 0.5, output: 1.0}}
    routes: [{{provider: fake-openai, model: upstream-no-tools}}]
"""
