"""What the node's hot path must keep doing after its speed-ups (no timing here).

Coalesced writes (one write per peer and turn of the event loop, frames in
order, none lost when a link drops), the send path without faults, the frame
decoder's offsets and str parsing, the block hash shortcut for blocks
without transactions, and copies of a message recognised by their bytes
(delivered exactly as if checked in full).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import struct
import time
from collections import OrderedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.core import Vote
from backend.core.chain import GENESIS, Block, Transaction
from backend.core.output import Output, Send
from backend.node import process
from backend.node.framing import FrameDecoder, FrameTooLarge, encode
from backend.node.process import Faults, Link, NodeProcess, PeerConnection

VOTE = Vote(1, 3, "ab" * 32)


async def _until(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.005)


class _Node:
    """The little a Link needs from its node."""

    host = "127.0.0.1"
    id = 1

    def peer_connected(self, peer: int) -> None:
        pass


def test_frames_of_one_turn_leave_in_one_write_in_order():
    async def scenario() -> None:
        received = bytearray()

        async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
            while data := await reader.read(65536):
                received.extend(data)

        server = await asyncio.start_server(peer, "127.0.0.1", 0)
        link = Link(_Node(), 2)
        link.port = server.sockets[0].getsockname()[1]
        link.start()
        try:
            await _until(lambda: link.connected)
            transport = link.writer.transport
            writes: list[bytes] = []
            real_write = transport.write

            def counted(data: bytes) -> None:
                writes.append(bytes(data))
                real_write(data)

            transport.write = counted
            frames = [encode({"n": i}) for i in range(5)]
            for frame in frames:
                link.send(frame)
            assert writes == []  # nothing goes out before the turn ends
            await _until(lambda: writes)
            assert writes == [b"".join(frames)]
            decoder = FrameDecoder()
            values: list[object] = []
            await _until(lambda: values.extend(decoder.feed(bytes(received)))
                         or received.clear() or len(values) == 6)
            assert values == [{"type": "hello", "node": 1}] + [
                {"n": i} for i in range(5)]
        finally:
            link.task.cancel()
            server.close()

    asyncio.run(scenario())


def test_frames_pending_when_the_link_drops_go_first_in_the_backlog():
    async def scenario() -> None:
        link = Link(_Node(), 2)
        link.writer = object()  # connected: frames wait for the end of the turn
        link.send(b"a")
        link.send(b"b")
        link.writer = None  # the link dropped within the same turn
        link.send(b"c")
        await asyncio.sleep(0)
        assert list(link.backlog) == [b"a", b"b", b"c"]

    asyncio.run(scenario())


@pytest.mark.parametrize("trace", [False, True])
def test_send_path_with_and_without_faults(tmp_path, trace):
    async def scenario() -> None:
        node = NodeProcess(1, 4, 1.0, "round-robin", str(tmp_path / "n1.sqlite"),
                           control_port=0, trace=trace)
        try:
            node.carry_out(Output(send=[Send((2, 3), VOTE)]))
            for peer in (2, 3):
                (frame,) = node.links[peer].backlog
                value = FrameDecoder().feed(frame)[0]
                assert value["m"] == VOTE.to_wire()
                assert isinstance(value["st"], float)
            assert node.stats["sent"] == 2
            node.faults = Faults(loss={2: 1.0})
            node.carry_out(Output(send=[Send((2, 3, 4), VOTE)]))
            assert len(node.links[2].backlog) == 1  # the lost one never left
            assert len(node.links[3].backlog) == 2
            assert len(node.links[4].backlog) == 1
            assert node.stats["sent"] == 5
            assert node.stats["fault_dropped"] == 1
            sends = [e for e in node._events if e["type"] == "send"]
            assert len(sends) == (5 if trace else 0)
        finally:
            node.store.close()

    asyncio.run(scenario())


def test_decoder_accepts_exactly_what_json_accepts_from_bytes():
    bodies = [
        '{"a": "é"}'.encode(),
        b"\xef\xbb\xbf" + b'{"bom": 1}',  # UTF-8 with a byte-order mark
        '{"wide": 2}'.encode("utf-16"),
        b"\xff\xfe not json",
        b"[1, 2",
    ]
    stream = b"".join(struct.pack(">I", len(b)) + b for b in bodies)
    decoder = FrameDecoder()
    expected = []
    for body in bodies:
        try:
            expected.append(json.loads(body))
        except ValueError:
            pass
    assert decoder.feed(stream) == expected
    assert decoder.bad_frames == len(bodies) - len(expected)
    assert decoder.buffered == 0


def test_decoder_keeps_a_partial_frame_after_complete_ones():
    stream = encode(1) + encode([2]) + encode({"three": 3})
    decoder = FrameDecoder()
    assert decoder.feed(stream[:-3]) == [1, [2]]
    assert decoder.buffered == len(encode({"three": 3})) - 3
    assert decoder.feed(stream[-3:]) == [{"three": 3}]
    assert decoder.buffered == 0


def test_decoder_refuses_an_oversized_frame_after_good_ones():
    decoder = FrameDecoder(max_frame=64)
    with pytest.raises(FrameTooLarge):
        decoder.feed(encode("ok") + struct.pack(">I", 65) + b"x")


def _canonical_hash(value: object) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("txs", [(), (Transaction(1, 2, 0, 5),)])
def test_block_hash_is_sha256_of_the_canonical_header(txs):
    block = Block(parent=GENESIS.hash, epoch=1, height=1, txs=txs, proposer=2)
    digest = _canonical_hash([tx.to_wire() for tx in txs])
    assert block.hash == _canonical_hash([GENESIS.hash, 1, 1, digest, 2])


# --- copies of a message are recognised by their bytes --------------------


class _Transport:
    def close(self) -> None:
        pass


def _connection(node: NodeProcess, peer: int) -> PeerConnection:
    conn = PeerConnection(node)
    conn.transport = _Transport()
    conn.data_received(encode({"type": "hello", "node": peer}))
    assert conn.via == peer
    return conn


def _frame(message_wire: object, sent_t: object) -> bytes:
    return encode({"m": message_wire, "st": sent_t})


def test_copies_of_a_message_are_delivered_without_validating_again(tmp_path):
    async def scenario() -> None:
        node = NodeProcess(1, 4, 1.0, "round-robin", str(tmp_path / "n1.sqlite"),
                           control_port=0, trace=True)
        try:
            node.carry_out(node.core.on_epoch(3))
            first, second = _connection(node, 2), _connection(node, 3)
            first.data_received(_frame(VOTE.to_wire(), 1.25))
            assert len(node._known) == 1
            validated = []
            real = process.message_from_wire
            process.message_from_wire = lambda *a: validated.append(a) or real(*a)
            try:
                second.data_received(_frame(VOTE.to_wire(), 7))
            finally:
                process.message_from_wire = real
            assert validated == []  # recognised, not validated again
            assert node.stats["received"] == 2
            delivered = [e for e in node._events if e["type"] == "deliver"]
            assert [(e["via"], e["sent_t"]) for e in delivered] == [(2, 1.25), (3, 7)]
            assert isinstance(delivered[1]["sent_t"], int)  # as json reads "7"
            assert node.core.votes[VOTE.block] == {VOTE.voter}
        finally:
            node.store.close()

    asyncio.run(scenario())


def test_a_frame_that_differs_from_a_known_one_is_checked_in_full(tmp_path):
    async def scenario() -> None:
        node = NodeProcess(1, 4, 1.0, "round-robin", str(tmp_path / "n1.sqlite"),
                           control_port=0)
        try:
            node.carry_out(node.core.on_epoch(3))
            conn = _connection(node, 2)
            wire = json.dumps(VOTE.to_wire(), separators=(",", ":")).encode()
            conn.data_received(_frame(VOTE.to_wire(), 1.0))
            for body in (b'{"m":' + wire + b',"st":NaN}',  # not a plain number
                         b'{"m":' + wire + b',"st":1,"x":2}',  # an extra field
                         b'{"m":' + wire + b',"st":"1"}'):  # not a number
                conn.data_received(struct.pack(">I", len(body)) + body)
            assert node.stats["received"] == 2  # only the NaN one is a valid frame
            assert node.stats["dropped_frames"] == 2
        finally:
            node.store.close()

    asyncio.run(scenario())


def test_an_invalid_message_is_never_remembered(tmp_path):
    async def scenario() -> None:
        node = NodeProcess(1, 4, 1.0, "round-robin", str(tmp_path / "n1.sqlite"),
                           control_port=0)
        try:
            conn = _connection(node, 2)
            bad = {**VOTE.to_wire(), "voter": 9}  # no node 9 among 4
            conn.data_received(_frame(bad, 1.0) + _frame(bad, 2.0))
            assert node._known == {}
            assert node.stats["dropped_frames"] == 2
        finally:
            node.store.close()

    asyncio.run(scenario())


def test_known_messages_take_bounded_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(process, "MAX_KNOWN_BYTES", 1000)

    async def scenario() -> None:
        node = NodeProcess(1, 4, 1.0, "round-robin", str(tmp_path / "n1.sqlite"),
                           control_port=0)
        try:
            conn = _connection(node, 2)
            for epoch in range(1, 40):
                vote = Vote(2, epoch, f"{epoch:064x}")
                conn.data_received(_frame(vote.to_wire(), 1.0))
                assert node._known_bytes <= 1000
            # The newest are kept, the oldest forgotten first: a copy of the
            # last vote is still recognised, one of the first is not.
            kept = [m.epoch for m in node._known.values()]
            assert 0 < len(kept) < 39 and kept == list(range(40 - len(kept), 40))
            assert node._known_bytes == sum(map(len, node._known))
        finally:
            node.store.close()

    asyncio.run(scenario())


_members = st.sampled_from([
    json.dumps(VOTE.to_wire(), separators=(",", ":")),
    json.dumps(VOTE.to_wire()),
    '{"type":"vote","voter":1,"epoch":3,"block":"' + "ab" * 32 + '","voter":2}',
    json.dumps(Vote(2, 4, "cd" * 32).to_wire()) + ',"st":"x","m":'
    + json.dumps(VOTE.to_wire()),
    '{"type":"vote","voter":1,"epoch":3}',
    '"vote"',
])
_numbers = st.one_of(st.integers(-10**20, 10**20).map(str),
                     st.floats(allow_nan=False, allow_infinity=False).map(repr),
                     st.sampled_from(["1e400", "-0", "0.5E-3", "1.", "01", "NaN"]))


@given(_members, _numbers, _numbers)
def test_recognising_a_copy_gives_what_checking_it_in_full_gives(m, first, second):
    node = NodeProcess.__new__(NodeProcess)
    node.n = 4
    node._known, node._known_bytes = OrderedDict(), 0

    def full(body: bytes) -> tuple[object, object] | None:
        try:
            value = json.loads(body)
            message = process.message_from_wire(value["m"], node.n)
        except (ValueError, KeyError, TypeError):
            return None
        sent_t = value["st"]
        if set(value) != {"m", "st"} or isinstance(sent_t, bool) or \
                not isinstance(sent_t, (int, float)):
            return None
        return message, value["st"]

    one = bytearray(b'{"m":' + m.encode() + b',"st":' + first.encode() + b"}")
    two = bytearray(b'{"m":' + m.encode() + b',"st":' + second.encode() + b"}")
    if full(bytes(one)) is not None:
        node._remember(one, full(bytes(one))[0])
    known = node._recall(two)
    if known is not None:
        expected = full(bytes(two))
        assert expected is not None
        assert known.message == expected[0]
        assert known.sent_t == expected[1]
        assert type(known.sent_t) is type(expected[1])


# --- the epoch clock sleeps on a timer and wakes when told -------------------


def test_a_clock_change_wakes_the_sleeping_clock_at_once(tmp_path):
    async def scenario() -> None:
        node = NodeProcess(1, 4, 60.0, "round-robin", str(tmp_path / "n1.sqlite"),
                           control_port=0, quiet=True)
        task = None
        try:
            # Epoch 1 began a second ago and lasts two minutes.
            node._set_clock({"genesis": time.time() - 1.0, "epoch_s": 120.0})
            task = asyncio.ensure_future(node._clock())
            await _until(lambda: node.core.epoch == 1)
            await asyncio.sleep(0.05)  # asleep until the end of epoch 1
            node._set_clock({"genesis": None, "manual_epoch": 4})
            await _until(lambda: node.core.epoch == 4, timeout_s=5.0)
            node._set_clock({"genesis": time.time() - 3 * 0.02, "epoch_s": 0.02})
            await _until(lambda: node.core.epoch >= 8, timeout_s=5.0)
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            node.store.close()
        assert node._clock_waiter is None

    asyncio.run(scenario())
