"""A node that is told to stop while a peer is still sending shuts down cleanly.

The node closed its store as soon as its control link ended, but the event
loop still delivered bytes that peers had sent while it wound down; each
message then tried to write to the closed store and left a traceback in the
node's log ("Cannot operate on a closed database"), seen after chaos runs.
Here the node process object runs in this test's event loop, with the test as
its supervisor and as a peer, so the order of events is fixed.
"""

from __future__ import annotations

import asyncio

from backend.core import Transaction, TxMessage
from backend.node.framing import FrameDecoder
from backend.node.process import NodeProcess
from tests.reliability.test_hostile_node import _hello, _msg


async def _scenario(store: str) -> tuple[list[dict], int]:
    loop = asyncio.get_running_loop()
    errors: list[dict] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    hello: asyncio.Future = loop.create_future()
    control: list[asyncio.StreamWriter] = []

    async def supervisor(reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        control.append(writer)
        decoder = FrameDecoder()
        while not hello.done():
            for frame in decoder.feed(await reader.read(65536)):
                hello.set_result(frame)

    server = await asyncio.start_server(supervisor, "127.0.0.1", 0)
    node = NodeProcess(1, 3, 0.05, "round-robin", store,
                       server.sockets[0].getsockname()[1])
    running = asyncio.ensure_future(node.run())
    port = (await asyncio.wait_for(hello, 10))["port"]
    _, peer = await asyncio.open_connection("127.0.0.1", port)
    peer.write(_hello(2))
    # The supervisor goes away: the node stops and closes its store.
    control[0].close()
    await asyncio.wait_for(running, 10)
    received = node.stats["received"]
    # A peer's transactions (each one a write to the store) still arrive on
    # the connection the node had accepted.
    for nonce in range(20):
        peer.write(_msg(TxMessage(Transaction(2, 3, nonce, 1))))
    await peer.drain()
    for _ in range(200):
        if errors or node.stats["received"] > received:
            break
        await asyncio.sleep(0.01)
    peer.close()
    server.close()
    return errors, node.stats["received"] - received


def test_messages_after_the_stop_do_not_touch_the_closed_store(tmp_path):
    errors, handled = asyncio.run(_scenario(str(tmp_path / "n1.sqlite")))
    assert [str(e.get("exception") or e.get("message")) for e in errors] == []
    assert handled == 0  # a stopped node acts on nothing more

