"""The usage page's numbers, from the Usage API's report (lumyx.usage.report) and
``GET /generation`` (lumyx.usage.generation), so the page says what the API says.

* Money spent is USD to six decimals, as the API reports it ($0.002250), with
  the same amount in credits beside it to four decimals (0.2250: 100 credits =
  1 USD, so both are the same figure). A balance is credits to two decimals and
  USD to four, both rounded down: never shown as more than it is.
* A chart is drawn only when it has something to show: a series that is zero
  every day is an empty state, not an axis from 0 to 1. Requests and tokens are
  two charts, each with its own scale.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

USD_PLACES = Decimal("0.000001")
CREDIT_PLACES = Decimal("0.0001")
BALANCE_PLACES = Decimal("0.01")
BALANCE_USD_PLACES = Decimal("0.0001")
CREDITS_PER_USD = 100
TOP_MODELS = 10


def _decimal(value) -> Decimal:
    """A report's number (an int, a float as JSON carries it, a string) as a Decimal."""
    return Decimal(repr(value) if isinstance(value, float) else str(value if value is not None else 0))


def usd(value) -> str:
    """An amount spent, USD, as the API reports it: $1,234.002250."""
    return f"${_decimal(value).quantize(USD_PLACES, rounding=ROUND_HALF_UP):,}"


def usd_as_credits(value) -> str:
    """The same amount spent in credits: 123,400.2250."""
    usd_amount = _decimal(value).quantize(USD_PLACES, rounding=ROUND_HALF_UP)
    return f"{(usd_amount * CREDITS_PER_USD).quantize(CREDIT_PLACES):,}"


def balance(credits) -> str:
    """A balance in credits (rounded down): 1,234.56."""
    return f"{_decimal(credits).quantize(BALANCE_PLACES, rounding=ROUND_FLOOR):,}"


def balance_usd(credits) -> str:
    """What a balance in credits is worth in USD (rounded down): $12.3456."""
    return f"${(_decimal(credits) / CREDITS_PER_USD).quantize(BALANCE_USD_PLACES, rounding=ROUND_FLOOR):,}"


def _series(label: str, data: list, *, kind: str = "bar", unit: str = "") -> dict | None:
    """A chart of one daily series, or None when every value is zero."""
    if not any(data):
        return None
    return {"type": kind, "unit": unit, "datasets": [{"label": label, "data": data}]}


def charts(report: dict) -> dict[str, dict | None]:
    """The charts the page draws (app.js: type, labels, datasets, unit) from a usage
    report; None for a chart with nothing to show."""
    daily = report["daily"]
    labels = [d["date"][5:] for d in daily]
    specs = {
        "requests": _series("Requests", [d["requests"] for d in daily], unit="count"),
        "tokens": _series("Tokens", [d["tokens"] for d in daily], unit="count"),
        "cost": _series("Cost (USD)", [float(_decimal(d["cost"]).quantize(USD_PLACES)) for d in daily], unit="usd"),
    }
    for spec in specs.values():
        if spec is not None:
            spec["labels"] = labels
    by_model = [m for m in report["by_model"][:TOP_MODELS] if m["requests"]]
    specs["models"] = (
        {
            "type": "hbar",
            "unit": "count",
            "labels": [m["model_id"] for m in by_model],
            "datasets": [{"label": "Requests", "data": [m["requests"] for m in by_model]}],
        }
        if by_model
        else None
    )
    return specs
