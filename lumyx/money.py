"""Money as integers.

Balances, holds, costs and ledger amounts are integer micro-credits (µcr):
1 credit = 1,000,000 µcr and 100 credits = 1 USD, so 1 USD = 100,000,000 µcr.
Model prices are stored as µcr per one million tokens, which makes the docs'
formula exact integer arithmetic:

    cost = input_tokens / 1e6 * price_in + output_tokens / 1e6 * price_out   (USD)
    cost_µcr = ceil((input_tokens * price_in_µcr + output_tokens * price_out_µcr) / 1e6)

Nothing here ever touches a float.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal, InvalidOperation

MICRO_PER_CREDIT = 1_000_000
CREDITS_PER_USD = 100
MICRO_PER_USD = MICRO_PER_CREDIT * CREDITS_PER_USD
TOKENS_PER_PRICE_UNIT = 1_000_000


def to_decimal(value) -> Decimal:
    """A Decimal from an int, a numeric string, or a YAML float (via its repr)."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"not a number: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def credits_to_micro(credits) -> int:
    """Credits (e.g. '142.5') to µcr; rejects sub-µcr precision."""
    micro = to_decimal(credits) * MICRO_PER_CREDIT
    if micro != micro.to_integral_value():
        raise ValueError("credits have at most 6 decimal places")
    return int(micro)


def micro_to_credits(micro: int) -> Decimal:
    return Decimal(micro) / MICRO_PER_CREDIT


def usd_price_to_micro(usd_per_million) -> int:
    """A catalog price (USD per 1M tokens) to µcr per 1M tokens."""
    micro = to_decimal(usd_per_million) * MICRO_PER_USD
    if micro < 0:
        raise ValueError("price must not be negative")
    if micro != micro.to_integral_value():
        raise ValueError("price has more than 8 decimal places")
    return int(micro)


def micro_price_to_usd(micro_per_million: int) -> Decimal:
    return Decimal(micro_per_million) / MICRO_PER_USD


def cost_micro(input_tokens: int, output_tokens: int, price_in: int, price_out: int) -> int:
    """The cost of a request in µcr, rounded up to the next whole µcr."""
    total = input_tokens * price_in + output_tokens * price_out
    return -(-total // TOKENS_PER_PRICE_UNIT)


def micro_to_usd(micro) -> float:
    """µcr (an int, or an exact fraction of one as a Decimal) as a USD JSON number."""
    return float(Decimal(micro) / MICRO_PER_USD)


def format_credits(micro: int, places: int = 6) -> str:
    quant = Decimal(1).scaleb(-places)
    return str(micro_to_credits(micro).quantize(quant, rounding=ROUND_CEILING))
