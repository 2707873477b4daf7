"""read_events gives the same events however the stream is cut into blocks: inside
a line, between the CR and LF of a CRLF, between the two newlines ending an event."""

from __future__ import annotations

import itertools

from lumyx.providers.sse import read_events

STREAM = (
    b": hello\r\n\r\n"
    b'event: message_start\r\ndata: {"a": 1}\r\n\r\n'
    b"data: one\ndata:two\n\n"
    b"data: \r\n\r\n"
    b"event: ping\r\n\r\n"
    b"data: [DONE]\r\n\r\n"
    b"data: last"
)
EXPECTED = [(b"message_start", b'{"a": 1}'), (None, b"one\ntwo"), (None, b""), (None, b"[DONE]"), (None, b"last")]


def _cut(data: bytes, at: tuple[int, ...]) -> list[bytes]:
    edges = (0, *at, len(data))
    return [data[a:b] for a, b in zip(edges, edges[1:])]


def test_every_cut_in_one_or_two_places_gives_the_same_events():
    assert list(read_events([STREAM])) == EXPECTED
    for count in (1, 2):
        for at in itertools.combinations(range(len(STREAM) + 1), count):
            assert list(read_events(_cut(STREAM, at))) == EXPECTED, at


def test_a_byte_at_a_time_and_empty_blocks_give_the_same_events():
    blocks = [STREAM[i : i + 1] for i in range(len(STREAM))]
    assert list(read_events(blocks)) == EXPECTED
    assert list(read_events([b"", *blocks, b""])) == EXPECTED


def test_many_events_in_one_block_come_out_in_order():
    block = b"".join(b"data: %d\r\n\r\n" % n for n in range(1000))
    assert [int(data) for _name, data in read_events([block[:4999], block[4999:]])] == list(range(1000))
