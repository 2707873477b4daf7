from datetime import datetime, timezone


def utcnow() -> datetime:
    """Naive UTC, the one timestamp convention of the schema."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
