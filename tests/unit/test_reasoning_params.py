import pytest

from lumyx.gateway.passthrough_openai import reasoning_effort


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"reasoning": {"effort": "high"}}, ("high", False)),
        ({"reasoning_effort": "low"}, ("low", False)),
        ({"reasoning": {"effort": "low", "max_tokens": 512}, "max_tokens": 256}, ("low", False)),
        ({"reasoning": {"max_tokens": 800}, "max_tokens": 1000}, ("high", False)),
        ({"reasoning": {"max_tokens": 100}, "max_tokens": 1000}, ("low", False)),
        ({"reasoning": {"enabled": True}}, ("medium", False)),
        ({"reasoning": {"enabled": False, "effort": "high"}}, (None, False)),
        ({"reasoning": {"effort": "medium", "exclude": True}}, ("medium", True)),
        ({}, (None, False)),
    ],
)
def test_reasoning_reaches_openai_upstreams_as_reasoning_effort(body, expected):
    assert reasoning_effort(body, supported=True) == expected


def test_models_without_reasoning_ignore_the_parameters():
    assert reasoning_effort({"reasoning": {"effort": "high", "exclude": True}}, supported=False) == (None, True)
