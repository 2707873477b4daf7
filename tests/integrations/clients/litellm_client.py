"""LiteLLM as a client library against the Lumyx gateway (run in the tools venv).

    python litellm_client.py stream|whole

Reads LUMYX_BASE_URL (the server's /v1 URL), LUMYX_API_KEY, LUMYX_MODEL (e.g.
openai/gpt-5.2) and LUMYX_PROMPT; prints the answer on stdout and a JSON summary
of what LiteLLM parsed on stderr."""

import json
import os
import sys

import litellm

kwargs = {
    "model": os.environ["LUMYX_MODEL"],
    "messages": [{"role": "user", "content": os.environ["LUMYX_PROMPT"]}],
    "api_base": os.environ["LUMYX_BASE_URL"],
    "api_key": os.environ["LUMYX_API_KEY"],
}

if sys.argv[1] == "stream":
    pieces = []
    for chunk in litellm.completion(stream=True, **kwargs):
        piece = chunk.choices[0].delta.content or ""
        pieces.append(piece)
        print(piece, end="", flush=True)
    print()
    summary = {"chunks": len(pieces)}
else:
    response = litellm.completion(**kwargs)
    print(response.choices[0].message.content)
    summary = {
        "id": response.id,
        "model": response.model,
        "finish_reason": response.choices[0].finish_reason,
        "usage": {
            "prompt_tokens": response.usage.prompt_tokens,
            "completion_tokens": response.usage.completion_tokens,
            "total_tokens": response.usage.total_tokens,
        },
    }
print(json.dumps(summary), file=sys.stderr)
