"""Readiness: the stores' pings, at most one a second per worker, naming the first
store that does not answer; and the janitor's settings, which must keep a live hold
from being taken for an orphan."""

from __future__ import annotations

import pytest

from lumyx import config
from lumyx.db import readiness


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(readiness.time, "monotonic", clock)
    return clock


def pings_of(**stores) -> readiness.StorePings:
    pings = readiness.StorePings(None)
    pings.pings = stores
    return pings


def test_the_stores_are_pinged_at_most_once_a_second(clock):
    calls = []
    pings = pings_of(database=lambda: calls.append("database"))
    assert [pings.unreachable() for _ in range(5)] == [None] * 5
    assert calls == ["database"]
    clock.now += readiness.PING_EVERY_SECONDS
    assert pings.unreachable() is None and calls == ["database", "database"]


def test_the_first_store_that_does_not_answer_is_named_until_it_answers_again(clock):
    state = {"redis": False}

    def redis():
        if not state["redis"]:
            raise ConnectionError("refused")

    pings = pings_of(database=lambda: None, redis=redis)
    assert pings.unreachable() == "redis"
    state["redis"] = True
    assert pings.unreachable() == "redis", "the last answer, within the second"
    clock.now += 1
    assert pings.unreachable() is None


def test_an_orphan_age_below_three_janitor_rounds_stops_the_server(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "unit-test")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'unit.db'}")
    monkeypatch.setenv("LUMYX_HOLD_REFRESH_SECONDS", "10")
    monkeypatch.setenv("LUMYX_HOLD_ORPHAN_SECONDS", "20")
    with pytest.raises(SystemExit, match="LUMYX_HOLD_ORPHAN_SECONDS"):
        config.from_environment()
    monkeypatch.setenv("LUMYX_HOLD_ORPHAN_SECONDS", "30")
    settings = config.from_environment()
    assert (settings["LUMYX_HOLD_REFRESH_SECONDS"], settings["LUMYX_HOLD_ORPHAN_SECONDS"]) == (10, 30)
