"""Hostile input below the socket: the frame decoder, the wire validation and
the core, driven by Hypothesis.

Whatever bytes arrive, the decoder returns frames or raises FrameTooLarge;
whatever JSON arrives, message_from_wire returns a message or raises
WireError; and whatever well-formed but unexpected messages a peer sends (votes
for blocks nobody proposed, proposals far ahead, orphans, catch-up answers
full of unknown blocks), the core never raises and its tables stay within the
bounds of its Config.
"""

from __future__ import annotations

import json
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.core import (
    GENESIS,
    Block,
    Config,
    Propose,
    Streamlet,
    SyncRequest,
    SyncResponse,
    Transaction,
    TxMessage,
    Vote,
    WireError,
    message_from_wire,
)
from backend.core.chain import MAX_EPOCH
from backend.node.framing import MAX_FRAME_BYTES, FrameDecoder, FrameTooLarge, encode

N = 4
HASHES = st.text("0123456789abcdef", min_size=64, max_size=64)
SMALL_INT = st.integers(-3, 2**41)
json_values = st.recursive(
    st.none() | st.booleans() | SMALL_INT
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=20)


# --- the frame decoder ------------------------------------------------------


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=4096), cuts=st.lists(st.integers(0, 4096), max_size=8))
def test_decoder_on_random_bytes_gives_frames_or_frame_too_large(data, cuts):
    decoder = FrameDecoder()
    try:
        for chunk in _chunks(data, cuts):
            decoder.feed(chunk)
    except FrameTooLarge:
        return
    assert decoder.buffered <= 4 + MAX_FRAME_BYTES


frame_parts = st.one_of(
    json_values.map(lambda v: ("good", v)),
    st.binary(max_size=64).map(lambda b: ("junk", b)),
)


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(frame_parts, min_size=1, max_size=12),
       cuts=st.lists(st.integers(0, 2000), max_size=10))
def test_good_frames_survive_junk_frames_between_them(parts, cuts):
    """A frame with a valid length and a bad body is skipped, not fatal."""
    stream = b""
    expected = []
    junk = 0
    for kind, value in parts:
        if kind == "good":
            stream += encode(value)
            expected.append(value)
            continue
        try:
            # Junk that happens to be JSON is a (good) frame too.
            expected.append(json.loads(value))
        except (ValueError, RecursionError):
            junk += 1
        stream += struct.pack(">I", len(value)) + value
    decoder = FrameDecoder()
    got = []
    for chunk in _chunks(stream, cuts):
        got.extend(decoder.feed(chunk))
    assert got == expected
    assert decoder.bad_frames == junk
    assert decoder.buffered == 0


# --- wire validation ----------------------------------------------------------

B1 = Block(GENESIS.hash, 1, 1, (Transaction(1, 2, 3, 4),), 1)
VALID = [
    Propose(B1).to_wire(),
    Vote(2, 1, B1.hash).to_wire(),
    TxMessage(Transaction(1, 2, 7, 0.5)).to_wire(),
    SyncRequest(3, 0, (B1.hash,)).to_wire(),
    SyncResponse(2, (B1,), ((B1.hash, (1, 2, 3)),), True).to_wire(),
]


def _paths(value, prefix=()):
    """Every path into a JSON value, the value itself included."""
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _paths(inner, (*prefix, i))


def _replace(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_any_mutation_of_a_valid_message_is_a_message_or_wire_error(data):
    wire = data.draw(st.sampled_from(VALID))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(_paths(wire))))
        wire = _replace(wire, path, data.draw(json_values))
    # Through real JSON text, as it arrives from a socket.
    wire = json.loads(json.dumps(wire))
    try:
        message = message_from_wire(wire, N)
    except WireError:
        return
    # Accepted: it must survive the trip back, unchanged.
    assert message_from_wire(json.loads(json.dumps(message.to_wire())), N) == message


# --- the core under well-formed hostile messages --------------------------------

CONFIG = Config(n=N, leader="round-robin", max_future_epochs=8, max_orphans=16,
                max_vote_entries=64, late_proposal_epochs=4, stale_vote_epochs=4,
                max_pool=50, keep_heights=8)


# A short chain every hostile message may refer to, and random hashes.
CHAIN = [GENESIS]
for _e in range(1, 4):
    CHAIN.append(Block(CHAIN[-1].hash, _e, _e, (), 1 + (_e - 1) % N))
PARENTS = st.sampled_from([b.hash for b in CHAIN]) | HASHES
VOTER = st.integers(1, N)
BLOCKS = st.builds(
    Block, parent=PARENTS, epoch=st.integers(1, 120), height=st.integers(1, 120),
    txs=st.lists(st.builds(Transaction, st.integers(0, 5), st.integers(0, 5),
                           st.integers(0, 5), st.just(1)), max_size=2).map(tuple),
    proposer=VOTER)
HOSTILE = st.one_of(
    st.builds(Vote, VOTER, st.integers(1, MAX_EPOCH), PARENTS),
    st.sampled_from(CHAIN[1:]).map(Propose),
    BLOCKS.map(Propose),
    st.builds(TxMessage, st.builds(Transaction, st.integers(0, 9), st.integers(0, 9),
                                   st.integers(0, 99), st.just(2))),
    st.builds(SyncRequest, VOTER, st.integers(0, MAX_EPOCH),
              st.lists(PARENTS, max_size=3).map(tuple)),
    st.builds(SyncResponse, VOTER, st.lists(BLOCKS, max_size=3).map(tuple),
              st.lists(st.tuples(PARENTS, st.lists(VOTER, max_size=N, unique=True)
                                 .map(tuple)), max_size=3).map(tuple),
              st.booleans()),
)
STEPS = st.lists(st.one_of(st.integers(1, 6), st.tuples(HOSTILE, st.integers(2, N))),
                 min_size=1, max_size=50)


def _check_bounds(node: Streamlet) -> None:
    config = node.config
    assert sum(len(v) for v in node.orphans.values()) <= config.max_orphans
    assert len(node.votes) <= config.max_vote_entries + 1
    assert len(node.pool) <= config.max_pool
    assert all(node.epoch - config.late_proposal_epochs <= e
               <= node.epoch + config.max_future_epochs for e in node.first_proposal)
    assert len(set(node.voted.values())) == len(node.voted)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(steps=STEPS)
def test_core_never_raises_and_stays_bounded_under_hostile_peers(steps):
    """A step is either a jump of the clock or a message from peer ``via``."""
    node = Streamlet(CONFIG, 1)
    epoch = 0
    for step in steps:
        if isinstance(step, int):
            epoch += step
            out = node.on_epoch(epoch)
        else:
            message, via = step
            out = node.on_message(message, via)
        # Nothing persisted may ever be a second vote in one epoch.
        votes = [r for r in out.persist if type(r).__name__ == "VoteRecord"]
        assert len({r.epoch for r in votes}) == len(votes)
        assert not [e for e in out.events if e["type"] == "safety_violation"]
        _check_bounds(node)
