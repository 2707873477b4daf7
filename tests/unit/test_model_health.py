"""Which recorded requests are upstream outcomes (lumyx.usage.health.outcome)."""

from __future__ import annotations

import pytest

from lumyx.usage.health import FAILED, SERVED, outcome, summarise


@pytest.mark.parametrize(
    ("status", "code", "answered", "keyed", "free", "expected"),
    [
        (200, None, True, True, False, SERVED),
        (499, "client_closed", True, True, False, SERVED),  # the provider was answering
        (502, "upstream_error", True, True, False, FAILED),  # its stream broke
        (502, "upstream_error", False, True, False, FAILED),  # every route timed out or failed
        (503, "model_unavailable", False, True, False, FAILED),  # no route connected
        (503, "model_unavailable", False, False, False, None),  # no provider key is set
        (429, "rate_limit_exceeded", False, True, False, FAILED),  # the upstream's rate limit
        (429, "rate_limit_exceeded", False, True, True, None),  # the free models' daily cap
        (402, "insufficient_credits", False, True, False, None),
        (402, "key_limit_exceeded", False, True, False, None),
        (400, "invalid_request", False, True, False, None),
        (503, "service_unavailable", False, True, False, None),  # the database, not a provider
    ],
)
def test_outcome(status, code, answered, keyed, free, expected):
    assert outcome(status, code, answered, keyed=keyed, free=free) is expected


def test_summarise_counts_refusals_apart():
    groups = [
        (200, None, True, 3, 300),
        (402, "insufficient_credits", False, 5, 5),
        (502, "upstream_error", False, 1, 100),
    ]
    health = summarise(groups)
    assert (health.requests, health.upstream, health.upstream_errors, health.refused) == (9, 4, 1, 5)
    assert health.success_rate == 0.75 and health.avg_latency_ms == 100
    nothing_asked = summarise([(402, "insufficient_credits", False, 2, 4)])
    assert nothing_asked.success_rate is None and nothing_asked.refused == 2
