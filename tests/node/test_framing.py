"""Length-prefixed JSON frames (PROTOCOL.md, corner case 13)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.node.framing import MAX_FRAME_BYTES, FrameDecoder, FrameTooLarge, encode

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(st.lists(json_values, min_size=1, max_size=8), st.integers(1, 64))
def test_frames_survive_any_split_of_the_byte_stream(values, chunk):
    stream = b"".join(encode(v) for v in values)
    decoder = FrameDecoder()
    got = []
    for i in range(0, len(stream), chunk):
        got.extend(decoder.feed(stream[i:i + chunk]))
    assert got == values
    assert decoder.buffered == 0


def test_several_frames_in_one_read_are_all_returned():
    decoder = FrameDecoder()
    stream = encode(1) + encode({"a": 2}) + encode([3])
    assert decoder.feed(stream) == [1, {"a": 2}, [3]]


def test_partial_frame_waits_for_the_rest():
    frame = encode({"type": "vote"})
    decoder = FrameDecoder()
    assert decoder.feed(frame[:3]) == []
    assert decoder.feed(frame[3:7]) == []
    assert decoder.feed(frame[7:]) == [{"type": "vote"}]


def test_oversized_length_prefix_is_refused_before_buffering():
    decoder = FrameDecoder()
    with pytest.raises(FrameTooLarge):
        decoder.feed(struct.pack(">I", MAX_FRAME_BYTES + 1) + b"x")


def test_bad_json_frame_is_skipped_and_counted_and_the_stream_continues():
    body = b"\xff\xfe not json"
    decoder = FrameDecoder()
    values = decoder.feed(struct.pack(">I", len(body)) + body + encode("ok"))
    assert values == ["ok"]
    assert decoder.bad_frames == 1


def test_deeply_nested_json_is_a_bad_frame_not_a_crash():
    body = b"[" * 200_000 + b"]" * 200_000
    decoder = FrameDecoder()
    assert decoder.feed(struct.pack(">I", len(body)) + body) == []
    assert decoder.bad_frames == 1


def test_encode_refuses_nan_which_json_peers_cannot_read():
    with pytest.raises(ValueError):
        encode(float("nan"))
