"""The README's first screen tells the truth: its quick start runs as written."""

from __future__ import annotations

import json
import re
import subprocess
import uuid

from tests.support.servers import ROOT


def quick_start() -> str:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return next(b for b in blocks if "create-key" in b and "curl" in b)


def test_quick_start_answers_from_the_local_model(live, server_env):
    script = quick_start()
    address = f"readme-{uuid.uuid4().hex[:8]}@example.com"
    script = script.replace("you@example.com", address).replace("http://127.0.0.1:8000", live.url)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=server_env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["model"] == "lumyx-local"
    assert "Hello!" in answer["choices"][0]["message"]["content"]
