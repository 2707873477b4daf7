"""Every code sample of the docs, run exactly as the live server's pages show it
(only the key placeholder replaced by a real key): curl through bash, Python
with the real openai / anthropic SDKs of .venv (executed in this process), JavaScript through node with
the openai npm package of tests/integrations, LiteLLM through .venv-tools, the
OpenAI Agents SDK through .venv-agents.

The interactive tools themselves (aider, claude) run in tests/integrations; here
their configuration samples are checked by calling the API with the variables the
sample sets; Codex CLI's, by comparing the files it writes with the configuration
tests/integrations runs Codex with, then calling the provider it configures as
Codex does."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tomllib
import uuid
from html import unescape
from pathlib import Path

import pytest
import requests
from openai import OpenAI

from lumyx.catalog import samples
from lumyx.web.docs import SECTIONS
from tests.integrations.harness import CODEX_KEY_VAR, codex_config, codex_model

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
NODE_MODULES = ROOT / "tests" / "integrations" / "node_modules"
TOOLS_PYTHON = ROOT / ".venv-tools" / "bin" / "python"
AGENTS_PYTHON = ROOT / ".venv-agents" / "bin" / "python"
SAMPLE_RE = re.compile(r'<code id="sample-[^"]+" data-sample-id="([^"]+)" data-lang="[^"]+">(.*?)</code>', re.S)
PAGES = [f"/docs/{slug}" for slug, _ in SECTIONS]
MODEL_PAGES = {"model-chat": "/models/gpt-5.2", "model-embed": "/models/lumyx-local-embed"}
TIMEOUT = 90

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def docs_keys(app):
    """plan -> a key of an account on that plan, with credits for the priced samples."""
    from lumyx.accounts import keys
    from lumyx.accounts import users as accounts

    made: dict[str, str] = {}

    def key_for(plan: str) -> str:
        if plan not in made:
            with app.app_context():
                user = accounts.create_user(
                    f"docs-{uuid.uuid4().hex[:10]}@example.com",
                    "correct horse battery",
                    plan=plan,
                    credits_micro=1_000 * 1_000_000,
                )
                made[plan] = keys.create_key(user, "docs samples")[1]
        return made[plan]

    return key_for


@pytest.fixture(scope="module")
def shown(live):
    """sample id -> code, as the live server's pages show it."""
    found: dict[str, str] = {}
    for path in PAGES + list(MODEL_PAGES.values()):
        response = requests.get(live.url + path, timeout=30)
        assert response.status_code == 200, path
        for sample_id, code in SAMPLE_RE.findall(response.text):
            code = unescape(code)
            assert found.setdefault(sample_id, code) == code, f"{sample_id} differs between pages"
    return found


def _env(live) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "CLAUDE_"))}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # LiteLLM must not fetch its price list
    return env


def _run(args: list[str], env: dict, cwd: Path | None = None, stdin: str | None = None) -> str:
    result = subprocess.run(args, env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout


def _exec_python(name: str, code: str) -> str:
    """Runs a Python sample in this process (the SDKs are imported once) and returns what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"<docs sample {name}>", "exec"), {"__name__": "__main__"})
    return out.getvalue()


def _check_openai_settings(base_url: str, api_key: str, model: str) -> str:
    client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=30)
    answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hello!"}])
    return answer.choices[0].message.content or ""


def _without_launch(sample: samples.Sample, code: str) -> str:
    """The sample less the line that starts its interactive tool."""
    tool = sample.launch.split()[0] if sample.launch else None
    lines = [line for line in code.splitlines() if not (tool and line.strip().split(" ")[0] == tool)]
    assert not tool or len(lines) == len(code.splitlines()) - 1, "the sample starts its tool once"
    return "\n".join(lines) + "\n"


def _check_codex(sample: samples.Sample, code: str, env: dict, home: Path) -> str:
    """Runs the Codex sample with an empty HOME; its config.toml and model catalog must
    be what tests/integrations runs Codex CLI with, and the provider it names must
    answer a request shaped like Codex's (stream, store false, encrypted reasoning)."""
    home.mkdir()
    script = _without_launch(sample, code) + 'printf "%s\\n%s\\n" "$CODEX_HOME" "$LUMYX_API_KEY"\n'
    codex_home, key = _run(["bash", "-euo", "pipefail", "-c", script], {**env, "HOME": str(home)}).split()[-2:]
    config = tomllib.loads((Path(codex_home) / "config.toml").read_text())
    catalog_path = Path(config["model_catalog_json"])
    model = config["model"]
    provider = config["model_providers"][config["model_provider"]]
    assert config == tomllib.loads(codex_config(provider["base_url"], model, catalog_path))
    assert json.loads(catalog_path.read_text()) == {"models": [codex_model(model)]}
    assert provider["env_key"] == CODEX_KEY_VAR and catalog_path.parent == Path(codex_home)
    answer = requests.post(
        provider["base_url"] + "/responses",
        headers={"Authorization": f"Bearer {key}", "Accept": "text/event-stream"},
        json={
            "model": model,
            "stream": True,
            "store": False,
            "include": ["reasoning.encrypted_content"],
            "reasoning": {"effort": "low", "summary": "auto"},
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello"}]}],
        },
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text[:500]
    return "codex config: ok\n" + answer.text


def run_sample(sample: samples.Sample, code: str, live, tmp_path: Path, catalog, key: str) -> str:
    env = _env(live)
    check = samples.fill(sample, origin=live.url, catalog=catalog, api_key=key).check or ""
    if sample.run == "bash":
        return _run(["bash", "-euo", "pipefail", "-c", code], env)
    if sample.run == "python":
        return _exec_python(sample.id, code)
    if sample.run == "node":
        missing = [name for name in re.findall(r'from "([^"./][^"]*)"', code) if not (NODE_MODULES / name).is_dir()]
        if missing:
            pytest.skip(f"npm package {', '.join(missing)} not installed (make tools); tests/integrations has them")
        (tmp_path / "node_modules").symlink_to(NODE_MODULES)
        script = tmp_path / f"{sample.id}.mjs"
        script.write_text(code)
        return _run(["node", str(script)], env, cwd=tmp_path)
    if sample.run == "litellm":
        if not TOOLS_PYTHON.exists():
            pytest.skip("LiteLLM is not installed (make tools); tests/integrations runs it")
        script = tmp_path / f"{sample.id}.py"
        script.write_text(code)
        return _run([str(TOOLS_PYTHON), str(script)], env)
    if sample.run == "env":
        # Everything but the line that starts the interactive tool, then the check.
        return _run(["bash", "-euo", "pipefail", "-c", _without_launch(sample, code) + check], env)
    if sample.run == "codex":
        return _check_codex(sample, code, env, tmp_path / "home")
    if sample.run == "agents":
        if not AGENTS_PYTHON.exists():
            pytest.skip("the OpenAI Agents SDK is not installed (make tools); tests/integrations runs it")
        script = tmp_path / f"{sample.id}.py"
        script.write_text(code)
        return _run([str(AGENTS_PYTHON), str(script)], env)
    if sample.run == "dotenv":
        return _run(["bash", "-euo", "pipefail", "-c", "set -a\n" + code + "set +a\n" + check], env)
    if sample.run == "continue":
        [entry] = json.loads(code)["models"]
        assert entry["provider"] == "openai"
        return _check_openai_settings(entry["apiBase"], entry["apiKey"], entry["model"])
    if sample.run == "settings":
        settings = dict(line.split(":", 1) for line in code.splitlines() if ":" in line)
        settings = {k.strip(): v.strip() for k, v in settings.items()}
        return _check_openai_settings(settings["Override Base URL"], settings["OpenAI API Key"], settings["Model"])
    raise AssertionError(f"no runner {sample.run}")


@pytest.fixture
def catalog(app, server_env, monkeypatch):
    """The catalog as the live server sees it (its provider keys), to fill a sample's check."""
    from lumyx import runtime

    for name in ("FAKE_OPENAI_KEY", "FAKE_ANTHROPIC_KEY"):
        monkeypatch.setenv(name, server_env[name])
    with app.app_context():
        return runtime.get().catalog.current()


@pytest.mark.parametrize("sample_id", list(samples.registry()))
def test_the_sample_runs_as_shown(sample_id, shown, docs_keys, live, tmp_path, catalog):
    sample = samples.registry()[sample_id]
    docs_key = docs_keys(sample.plan)
    assert sample_id in shown, f"{sample_id} is on no page"
    code = shown[sample_id]
    assert samples.KEY_PLACEHOLDER in code or "lx-not-a-real-key" in code or sample_id == "endpoints-health", (
        "a sample that calls the API shows where the key goes"
    )
    output = run_sample(sample, code.replace(samples.KEY_PLACEHOLDER, docs_key), live, tmp_path, catalog, docs_key)
    for pattern in sample.expect:
        assert re.search(pattern, output, re.M), f"{pattern!r} not in the output of {sample_id}:\n{output[:3000]}"
    if sample.run in ("continue", "settings"):
        assert output.strip()
