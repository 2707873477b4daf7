"""Request ids: ``req_`` and 32 lowercase hex digits, unique, and ordered by the
millisecond they were made in (so rows keyed by them are appended to their indexes)."""

from __future__ import annotations

import re
import time

from lumyx.gateway.call import _request_id


def test_request_ids_keep_their_form_and_are_unique():
    ids = [_request_id() for _ in range(10_000)]
    assert all(re.fullmatch(r"req_[0-9a-f]{32}", request_id) for request_id in ids)
    assert len(set(ids)) == len(ids)


def test_a_later_request_id_sorts_after_an_earlier_one():
    earlier = [_request_id() for _ in range(50)]
    time.sleep(0.002)
    later = [_request_id() for _ in range(50)]
    assert max(earlier) < min(later)
    made_at_ms = int(later[0][4:16], 16)
    assert abs(made_at_ms - time.time() * 1000) < 1000, "the first 12 digits are the time in milliseconds"
