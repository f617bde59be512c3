"""Validation of untrusted JSON into messages (messages.message_from_wire;
PROTOCOL.md corner case 13: never unpickle network data, validate it)."""

from __future__ import annotations

import copy
import json
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.core import (
    GENESIS,
    Block,
    Propose,
    SyncRequest,
    SyncResponse,
    Transaction,
    TxMessage,
    Vote,
    WireError,
    message_from_wire,
)
from backend.core.chain import MAX_AMOUNT, MAX_EPOCH, MAX_NONCE
from backend.core.messages import MAX_BLOCK_TXS, MAX_SYNC_BLOCKS
from tests.core.helpers import make_block, tx, wire_round_trip

N = 5
B1 = make_block(GENESIS, 1, txs=[tx(1, 1), Transaction(2, 3, 4, 0.5)])
B2 = make_block(B1, 2)
HASH = B1.hash

EXAMPLES = [
    Propose(B1),
    Propose(make_block(GENESIS, 3)),
    Vote(4, 2, HASH),
    TxMessage(Transaction(0, 10**6, MAX_NONCE, MAX_AMOUNT)),
    SyncRequest(2, 0),
    SyncRequest(5, 7, (HASH, B2.hash)),
    SyncResponse(1, (B1, B2), ((B1.hash, (1, 2, 3)), (B2.hash, (2, 4, 5))), True),
    SyncResponse(3, (), (), False),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_type_round_trips_through_json(message):
    """Each message survives to_wire -> JSON text -> message_from_wire intact,
    block hashes included (they are recomputed, never read)."""
    back = wire_round_trip(message, N)
    assert back == message
    if isinstance(message, Propose):
        assert back.block.hash == message.block.hash
    if isinstance(message, SyncResponse):
        assert [b.hash for b in back.blocks] == [b.hash for b in message.blocks]


def test_block_hash_is_recomputed_from_the_received_fields():
    """A peer cannot make a block claim another's name: changing any field on
    the wire changes the hash the receiver computes."""
    wire = Propose(B1).to_wire()
    wire["block"]["txs"][0][3] = 6
    tampered = message_from_wire(wire, N)
    assert tampered.block.hash != B1.hash


def _propose() -> dict:
    return Propose(B1).to_wire()


def _vote() -> dict:
    return Vote(2, 1, HASH).to_wire()


def _sync_request() -> dict:
    return SyncRequest(2, 0, (HASH,)).to_wire()


def _sync_response() -> dict:
    return SyncResponse(1, (B1,), ((B1.hash, (1, 2, 3)),)).to_wire()


def _with(base, path, value):
    """``base`` with the item at ``path`` (keys/indexes) set to ``value``."""
    obj = copy.deepcopy(base)
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return obj


def _without(base, key):
    obj = copy.deepcopy(base)
    del obj[key]
    return obj


_TX = [1, 2, 3, 4]
MALFORMED = [
    # (id, wire value, text the error must contain)
    ("not-object", [1, 2], "message must be an object"),
    ("unknown-type", {"type": "hello"}, "unknown message type 'hello'"),
    ("no-type", {"voter": 1}, "unknown message type 'None'"),
    ("vote-voter-bool", _with(_vote(), ["voter"], True), "vote voter must be an int"),
    ("vote-voter-str", _with(_vote(), ["voter"], "2"), "vote voter must be an int"),
    ("vote-voter-float", _with(_vote(), ["voter"], 2.0), "vote voter must be an int"),
    ("vote-voter-zero", _with(_vote(), ["voter"], 0), "vote voter must be between 1"),
    ("vote-voter-above-n", _with(_vote(), ["voter"], N + 1),
     "vote voter must be between 1 and 5"),
    ("vote-epoch-zero", _with(_vote(), ["epoch"], 0), "vote epoch must be between"),
    ("vote-epoch-huge", _with(_vote(), ["epoch"], MAX_EPOCH + 1),
     "vote epoch must be between"),
    ("vote-epoch-bool", _with(_vote(), ["epoch"], False), "vote epoch must be an int"),
    ("vote-block-short", _with(_vote(), ["block"], "ab"), "vote block must be 64"),
    ("vote-block-upper", _with(_vote(), ["block"], HASH.upper()),
     "vote block must be 64 lowercase hex"),
    ("vote-block-65", _with(_vote(), ["block"], HASH + "0"), "vote block must be 64"),
    ("vote-block-newline", _with(_vote(), ["block"], HASH + "\n"),
     "vote block must be 64"),
    ("vote-block-int", _with(_vote(), ["block"], 7), "vote block must be 64"),
    ("vote-extra", _with(_vote(), ["weight"], 2), "vote has unknown fields weight"),
    ("vote-missing", _without(_vote(), "epoch"), "vote lacks epoch"),
    ("propose-block-list", _with(_propose(), ["block"], []), "block must be an obj"),
    ("propose-extra", _with(_propose(), ["hash"], HASH),
     "propose has unknown fields hash"),
    ("block-missing", {"type": "propose", "block": _without(B1.to_wire(), "height")},
     "block lacks height"),
    ("block-extra-hash", _with(_propose(), ["block", "hash"], HASH),
     "block has unknown fields hash"),
    ("block-parent-bad", _with(_propose(), ["block", "parent"], "zz" * 32),
     "block parent must be 64"),
    ("block-epoch-zero", _with(_propose(), ["block", "epoch"], 0),
     "block epoch must be between 1"),
    ("block-height-zero", _with(_propose(), ["block", "height"], 0),
     "block height must be between 1"),
    ("block-height-float", _with(_propose(), ["block", "height"], 1.5),
     "block height must be an integer"),
    ("block-proposer-zero", _with(_propose(), ["block", "proposer"], 0),
     "block proposer must be between 1 and 5"),
    ("block-proposer-above-n", _with(_propose(), ["block", "proposer"], 6),
     "block proposer must be between 1 and 5"),
    ("block-proposer-bool", _with(_propose(), ["block", "proposer"], True),
     "block proposer must be an integer"),
    ("block-txs-object", _with(_propose(), ["block", "txs"], {}),
     "block txs must be a list"),
    ("block-too-many-txs",
     _with(_propose(), ["block", "txs"], [[1, 2, i, 1] for i in range(257)]),
     f"block txs has more than {MAX_BLOCK_TXS} entries"),
    ("tx-short", _with(_propose(), ["block", "txs", 0], [1, 2, 3]),
     "tx must be [sender, receiver, nonce, amount]"),
    ("tx-long", _with(_propose(), ["block", "txs", 0], [1, 2, 3, 4, 5]),
     "tx has more than 4 entries"),
    ("tx-object", {"type": "tx", "tx": {"sender": 1}}, "tx must be a list"),
    ("tx-sender-negative", {"type": "tx", "tx": [-1, 2, 3, 4]},
     "tx sender must be between 0"),
    ("tx-receiver-bool", {"type": "tx", "tx": [1, True, 3, 4]},
     "tx receiver must be an integer"),
    ("tx-nonce-huge", {"type": "tx", "tx": [1, 2, MAX_NONCE + 1, 4]},
     "tx nonce must be between 0"),
    ("tx-amount-nan", {"type": "tx", "tx": [1, 2, 3, math.nan]},
     "tx amount must be finite"),
    ("tx-amount-inf", {"type": "tx", "tx": [1, 2, 3, math.inf]},
     "tx amount must be finite"),
    ("tx-amount-negative", {"type": "tx", "tx": [1, 2, 3, -4]},
     "tx amount must be positive"),
    ("tx-amount-zero", {"type": "tx", "tx": [1, 2, 3, 0]}, "tx amount must be posit"),
    ("tx-amount-bool", {"type": "tx", "tx": [1, 2, 3, True]},
     "tx amount must be a number"),
    ("tx-amount-str", {"type": "tx", "tx": [1, 2, 3, "4"]},
     "tx amount must be a number"),
    ("tx-amount-huge", {"type": "tx", "tx": [1, 2, 3, MAX_AMOUNT * 10]},
     "tx amount must be at most"),
    ("tx-message-extra", {"type": "tx", "tx": _TX, "fee": 1},
     "tx message has unknown fields fee"),
    ("sync-request-sender-zero", _with(_sync_request(), ["sender"], 0),
     "sync_request sender must be between 1"),
    ("sync-request-from-negative", _with(_sync_request(), ["from_height"], -1),
     "sync_request from_height must be between 0"),
    ("sync-request-want-str", _with(_sync_request(), ["want"], HASH),
     "sync_request want must be a list"),
    ("sync-request-want-bad-hash", _with(_sync_request(), ["want", 0], "x"),
     "sync_request want must be 64"),
    ("sync-request-want-too-many", _with(_sync_request(), ["want"], [HASH] * 33),
     f"sync_request want has more than {MAX_SYNC_BLOCKS} entries"),
    ("sync-request-missing", _without(_sync_request(), "want"),
     "sync_request lacks want"),
    ("sync-response-more-int", _with(_sync_response(), ["more"], 1),
     "sync_response more must be true or false"),
    ("sync-response-sender-bool", _with(_sync_response(), ["sender"], True),
     "sync_response sender must be an integer"),
    ("sync-response-too-many-blocks",
     _with(_sync_response(), ["blocks"], [B1.to_wire()] * 33),
     "sync_response blocks has more than 32 entries"),
    ("sync-response-bad-block", _with(_sync_response(), ["blocks", 0, "epoch"], -1),
     "block epoch must be between 1"),
    ("sync-response-voters-entry-short", _with(_sync_response(), ["voters", 0],
                                               [HASH]),
     "sync_response voters entry must be [hash, voters]"),
    ("sync-response-voters-entry-not-list", _with(_sync_response(), ["voters", 0],
                                                  HASH),
     "sync_response voters entry must be a list"),
    ("sync-response-voter-hash", _with(_sync_response(), ["voters", 0, 0], "ab"),
     "sync_response voters hash must be 64"),
    ("sync-response-voter-above-n", _with(_sync_response(), ["voters", 0, 1], [6]),
     "sync_response voter must be between 1 and 5"),
    ("sync-response-too-many-voters",
     _with(_sync_response(), ["voters", 0, 1], [1, 2, 3, 4, 5, 1]),
     "sync_response voter ids has more than 5 entries"),
    ("sync-response-extra", _with(_sync_response(), ["epoch"], 1),
     "sync_response has unknown fields epoch"),
]


@pytest.mark.parametrize(("wire", "fragment"), [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_message_raises_wire_error_naming_the_field(wire, fragment):
    """Hostile input: each malformed frame raises WireError whose text names
    the offending field, and nothing else gets through."""
    with pytest.raises(WireError, match=re.escape(fragment)):
        message_from_wire(wire, N)


def test_nan_from_json_text_is_refused():
    """Python's json module accepts NaN and Infinity; the amount check must
    still refuse them when they arrive as JSON text."""
    for amount in ("NaN", "Infinity", "-Infinity"):
        text = '{"type": "tx", "tx": [1, 2, 3, ' + amount + "]}"
        with pytest.raises(WireError, match="tx amount must be"):
            message_from_wire(json.loads(text), N)


def test_block_of_max_size_is_accepted():
    """The bound is inclusive: a block of exactly MAX_BLOCK_TXS transactions
    passes validation."""
    big = Block(GENESIS.hash, 1, 1, tuple(tx(1, i) for i in range(MAX_BLOCK_TXS)), 1)
    assert wire_round_trip(Propose(big), N) == Propose(big)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=True) | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=12,
)
_type = st.sampled_from(["propose", "vote", "tx", "sync_request", "sync_response"])


@settings(max_examples=120, derandomize=True, database=None, deadline=None)
@given(kind=_type, body=st.dictionaries(
    st.sampled_from(["block", "voter", "epoch", "tx", "sender", "from_height",
                     "want", "blocks", "voters", "more", "parent"]),
    _json, max_size=6))
def test_arbitrary_json_gives_a_message_or_wire_error(kind, body):
    """Hostile input, fuzzed: any JSON value under any message type either
    validates or raises WireError, never another exception."""
    try:
        message_from_wire({"type": kind, **body}, N)
    except WireError:
        pass


@settings(max_examples=100, derandomize=True, database=None, deadline=None)
@given(index=st.integers(0, len(EXAMPLES) - 1), data=st.data())
def test_one_corrupted_field_gives_wire_error_or_valid_message(index, data):
    """Hostile input, fuzzed: replacing one field of a valid message by any
    JSON value yields WireError or a message that round-trips again."""
    wire = EXAMPLES[index].to_wire()
    key = data.draw(st.sampled_from(sorted(wire)))
    wire[key] = data.draw(_json)
    try:
        message = message_from_wire(wire, N)
    except WireError:
        return
    assert wire_round_trip(message, N) == message
