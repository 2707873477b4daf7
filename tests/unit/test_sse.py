from lumyx.providers.sse import read_events


def test_events_split_across_chunks_and_crlf():
    chunks = [b'event: message_start\r\ndata: {"a"', b": 1}\r\n\r\n: comment\n\nda", b"ta: [DONE]\n\n"]
    assert list(read_events(chunks)) == [(b"message_start", b'{"a": 1}'), (None, b"[DONE]")]


def test_trailing_event_without_blank_line():
    assert list(read_events([b"data: {}\n"])) == [(None, b"{}")]


def test_multiline_data_is_joined():
    assert list(read_events([b"data: a\ndata: b\n\n"])) == [(None, b"a\nb")]
