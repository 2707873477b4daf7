"""What a request may cost and what it did cost, in integer micro-credits (µcr):
pure functions of a model's prices and token counts, no database.

* The hold is the worst case: the prompt's bound plus the largest answer
  (:func:`largest_answer`), at the model's prices, and at least 1 µcr.
* When the client set no output limit and the balance cannot cover the
  largest answer, the answer is limited to what the spare balance affords
  (:func:`output_cap`); below :data:`MIN_CAPPED_OUTPUT` tokens the request is
  refused instead.
* The settlement charges the metered tokens at the model's prices, rounded up
  to the µcr (:func:`cost`); a free model's prices are 0, so it costs nothing.

``model`` is the catalog's :class:`~lumyx.catalog.snapshot.ModelInfo`: these
read its ``price_input``, ``price_output`` (µcr per million tokens),
``max_output_tokens`` and ``is_embedding``.
"""

from __future__ import annotations

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


def cost(model, input_tokens: int, output_tokens: int) -> int:
    """What these tokens cost on ``model``, rounded up to the whole µcr."""
    return money.cost_micro(input_tokens, output_tokens, model.price_input, model.price_output)


def hold_amount(model, prompt_tokens: int, answer_tokens: int) -> int:
    """The µcr to hold for a prompt of (at most) ``prompt_tokens`` and an answer of
    (at most) ``answer_tokens``; never 0, so every priced request holds something."""
    return max(cost(model, prompt_tokens, answer_tokens), 1)


def output_cap(model, available: int, prompt_tokens: int) -> int | None:
    """The output tokens ``available`` µcr afford once the prompt is paid for;
    None when that is fewer than :data:`MIN_CAPPED_OUTPUT` (or the output is free)."""
    if not model.price_output:
        return None
    spare = available - cost(model, prompt_tokens, 0)
    affordable = spare * money.TOKENS_PER_PRICE_UNIT // model.price_output if spare > 0 else 0
    return affordable if affordable >= MIN_CAPPED_OUTPUT else None
