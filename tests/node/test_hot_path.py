"""What the node's hot path must keep doing after its speed-ups (no timing here).

Coalesced writes (one write per peer and turn of the event loop, frames in
order, none lost when a link drops), the send path without faults, the frame
decoder's offsets and str parsing, and the block hash shortcut for blocks
without transactions.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
import time

import pytest

from backend.core import Vote
from backend.core.chain import GENESIS, Block, Transaction
from backend.core.output import Output, Send
from backend.node.framing import FrameDecoder, FrameTooLarge, encode
from backend.node.process import Faults, Link, NodeProcess

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
