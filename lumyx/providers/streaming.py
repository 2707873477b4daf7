"""Turning an open upstream SSE response into decoded events."""

from __future__ import annotations

from collections.abc import Iterator

from geventhttpclient.response import HTTPParseError

from lumyx.providers import http, sse
from lumyx.providers.base import UpstreamReply


class StreamBroken(Exception):
    """The upstream stream failed after it started; carries why."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def reply(response, secret: str | None = None) -> UpstreamReply:
    """An UpstreamReply whose events come from the open SSE ``response``.

    Its ``close`` drops the connection unless the stream was read to its end,
    in which case the connection goes back to the pool.
    """
    state = {"done": False}

    def events() -> Iterator[dict]:
        try:
            for _name, data in sse.read_events(http.iter_body(response)):
                if data == b"[DONE]":
                    break
                try:
                    event = sse.decode(data)
                except sse.MalformedStream as exc:
                    raise StreamBroken("protocol", str(exc)) from None
                if "error" in event and (event.get("type") == "error" or "choices" not in event):
                    message = _error_message(event["error"])
                    raise StreamBroken("upstream_error", message.replace(secret, "[redacted]") if secret else message)
                yield event
            state["done"] = True
        except TimeoutError:
            raise StreamBroken("timeout", "upstream stream stalled") from None
        except (HTTPParseError, OSError):
            raise StreamBroken("protocol", "upstream closed the stream early") from None
        finally:
            if state["done"]:
                _drain(response)
            http.release(response)

    def close() -> None:
        http.release(response)

    return UpstreamReply(
        events=events(), headers=dict(response.headers), close=close, cancel=lambda: http.cancel(response)
    )


def _error_message(error) -> str:
    """The message of an error event (OpenAI or Anthropic shape), never the raw payload."""
    message = error.get("message") if isinstance(error, dict) else error
    return f"upstream sent an error event: {str(message)[:300]}" if message else "upstream sent an error event"


def _drain(response) -> None:
    """Reads what follows [DONE] (normally nothing), so that the connection can be reused."""
    try:
        for _ in http.iter_body(response):
            pass
    except Exception:
        pass
