"""What a request may cost and what it did cost, in integer micro-credits (µcr):
pure functions of a model's prices and token counts, no database.

* The hold is the worst case: the prompt's bound plus the largest answer
  (:func:`largest_answer`), at the model's prices, and at least 1 µcr.
* When the client set no output limit and the balance cannot cover the
  largest answer, the answer is limited to what the spare balance affords
  (:func:`output_cap`); below :data:`MIN_CAPPED_OUTPUT` tokens the request is
  refused instead.
  The hold prices every prompt token at the highest of the model's input and
  cache-write prices, since the upstream decides what it caches.
* The settlement charges the metered tokens at the model's prices, each kind at
  its own (:func:`charge`), rounded up to the µcr once per request; a free
  model's prices are 0, so it costs nothing. The answer's ``usage.cost`` is
  the same :func:`charge`, so the client reads what it is charged.

The token kinds, as the gateway's meter keeps them (``input_tokens`` counts
EVERY prompt token, cached or not)::

    uncached input = input_tokens - cached_tokens - cache_write_tokens - cache_write_1h_tokens
    cost_µcr = ceil((uncached × input + cached × cache_read + cache_write × cache_write_5m
                     + cache_write_1h × cache_write_1h + output × output) / 1e6)

(µcr prices per million tokens; reasoning tokens are output tokens.)

``model`` is the catalog's :class:`~lumyx.catalog.snapshot.ModelInfo`: these
read its ``price_input``, ``price_output``, ``price_cache_read``,
``price_cache_write``, ``price_cache_write_1h`` (µcr per million tokens; a
cache price of None is its default: read and 5-minute write at the input
price, 1-hour write at the 5-minute one), ``max_output_tokens`` and
``is_embedding``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from lumyx import money

# The answer's length when neither the request nor the model limits it; also
# the most an Anthropic upstream is asked for when the client set no limit.
DEFAULT_MAX_OUTPUT = 4096
MIN_CAPPED_OUTPUT = 16  # below this, a balance that cannot cover the answer gets 402


def largest_answer(model, asked: int | None) -> int:
    """The most output tokens a request may produce: the client's limit capped at the
    model's, else the model's, else :data:`DEFAULT_MAX_OUTPUT`; none for embeddings."""
    if model.is_embedding:
        return 0
    limit = model.max_output_tokens
    if asked:
        return min(asked, limit) if limit else asked
    return limit or DEFAULT_MAX_OUTPUT


def cache_prices(model) -> tuple[int, int, int]:
    """(cache read, 5-minute cache write, 1-hour cache write) prices of ``model``,
    µcr per million tokens, their defaults filled in."""
    read = getattr(model, "price_cache_read", None)
    write = getattr(model, "price_cache_write", None)
    write_1h = getattr(model, "price_cache_write_1h", None)
    read = model.price_input if read is None else read
    write = model.price_input if write is None else write
    return read, write, write if write_1h is None else write_1h


def prompt_price_bound(model) -> int:
    """The most one prompt token can cost on ``model`` (µcr per million tokens)."""
    _read, write, write_1h = cache_prices(model)
    return max(model.price_input, write, write_1h)


@dataclass(frozen=True, slots=True)
class Charge:
    """What a request's tokens cost: ``total`` µcr (rounded up once) and its parts,
    each exact (µcr as Decimals, unrounded)."""

    total: int
    parts: dict[str, Decimal]

    @property
    def usd(self) -> float:
        return money.micro_to_usd(self.total)


# The parts of a charge, each (token kind, price), in the order answers show them.
PARTS = ("input", "cache_read", "cache_write", "cache_write_1h", "output")


def charge(model, usage) -> Charge:
    """What ``usage`` cost on ``model``. ``usage`` has the meter's fields:
    ``input_tokens`` (all prompt tokens), ``cached_tokens`` (read from the cache),
    ``cache_write_tokens`` (written to a 5-minute cache), ``cache_write_1h_tokens``
    and ``output_tokens``. An upstream reporting more cached than prompt tokens
    has its uncached input counted as 0, never negative."""
    read = getattr(usage, "cached_tokens", 0) or 0
    write = getattr(usage, "cache_write_tokens", 0) or 0
    write_1h = getattr(usage, "cache_write_1h_tokens", 0) or 0
    uncached = max(usage.input_tokens - read - write - write_1h, 0)
    price_read, price_write, price_write_1h = cache_prices(model)
    numerators = {
        "input": uncached * model.price_input,
        "cache_read": read * price_read,
        "cache_write": write * price_write,
        "cache_write_1h": write_1h * price_write_1h,
        "output": usage.output_tokens * model.price_output,
    }
    total = -(-sum(numerators.values()) // money.TOKENS_PER_PRICE_UNIT)
    parts = {name: Decimal(value) / money.TOKENS_PER_PRICE_UNIT for name, value in numerators.items()}
    return Charge(total, parts)


def cost(model, input_tokens: int, output_tokens: int) -> int:
    """What uncached prompt and output tokens cost on ``model``, rounded up to the whole µcr."""
    return money.cost_micro(input_tokens, output_tokens, model.price_input, model.price_output)


def _worst_case(model, prompt_tokens: int, answer_tokens: int) -> int:
    return money.cost_micro(prompt_tokens, answer_tokens, prompt_price_bound(model), model.price_output)


def hold_amount(model, prompt_tokens: int, answer_tokens: int) -> int:
    """The µcr to hold for a prompt of (at most) ``prompt_tokens`` and an answer of
    (at most) ``answer_tokens``, every prompt token at its highest price; never 0,
    so every priced request holds something."""
    return max(_worst_case(model, prompt_tokens, answer_tokens), 1)


def output_cap(model, available: int, prompt_tokens: int) -> int | None:
    """The output tokens ``available`` µcr afford once the prompt is paid for;
    None when that is fewer than :data:`MIN_CAPPED_OUTPUT` (or the output is free)."""
    if not model.price_output:
        return None
    spare = available - _worst_case(model, prompt_tokens, 0)
    affordable = spare * money.TOKENS_PER_PRICE_UNIT // model.price_output if spare > 0 else 0
    return affordable if affordable >= MIN_CAPPED_OUTPUT else None


def dearest(models, prompt_tokens: int, asked: int | None):
    """Of the models a request may be served by (its model and fallbacks), the one
    whose worst case is the largest: a hold for it covers any of them. A priced
    model before a free one; among equals, the first."""
    if len(models) == 1:
        return models[0]
    return max(
        models,
        key=lambda model: (
            not model.is_free,
            0 if model.is_free else hold_amount(model, prompt_tokens, largest_answer(model, asked)),
        ),
    )
