from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC, the one timestamp convention of the schema."""
    return datetime.now(UTC).replace(tzinfo=None)
