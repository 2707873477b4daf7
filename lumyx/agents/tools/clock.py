"""The ``current_time`` tool: the date and time in an IANA time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from lumyx.agents.tools.server_tool import ServerTool, ToolError


def _current_time(arguments: dict) -> dict:
    name = arguments.get("timezone") or "UTC"
    if not isinstance(name, str) or len(name) > 64:
        raise ToolError("'timezone' must be an IANA time zone name such as Europe/Paris")
    name = name.strip()
    try:
        zone = ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, ValueError (a path), IsADirectoryError…
        raise ToolError(f"unknown time zone '{name[:64]}'; use an IANA name such as Europe/Paris or UTC") from None
    now = datetime.now(zone)
    offset = now.strftime("%z")
    return {
        "timezone": name,
        "datetime": now.isoformat(timespec="seconds"),
        "date": now.date().isoformat(),
        "time": now.strftime("%H:%M:%S"),
        "weekday": now.strftime("%A"),
        "utc_offset": f"{offset[:3]}:{offset[3:]}" if offset else "+00:00",
        "unix": int(now.timestamp()),
    }


CURRENT_TIME = ServerTool(
    "current_time",
    "The current date and time in a time zone.",
    {
        "type": "object",
        "properties": {
            "timezone": {
                "type": "string",
                "description": "An IANA time zone name such as Europe/Paris; default UTC",
            }
        },
    },
    _current_time,
)
