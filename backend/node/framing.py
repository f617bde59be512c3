"""Length-prefixed JSON frames, the only format on any socket of the lab.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8
JSON. The decoder is incremental: it takes whatever ``recv`` returned (part of
a frame, or several frames) and hands back the complete frames so far
(PROTOCOL.md, corner case 13). Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import struct
from typing import Any

#: Largest frame accepted or sent. A catch-up answer of 32 full blocks fits.
MAX_FRAME_BYTES = 2 * 1024 * 1024

_LENGTH = struct.Struct(">I")


class FrameTooLarge(ValueError):
    """The length prefix announces more than :data:`MAX_FRAME_BYTES`.

    The stream cannot be resynchronised after this, so the connection must be
    closed.
    """


def encode(value: Any) -> bytes:
    body = json.dumps(value, separators=(",", ":"), allow_nan=False).encode()
    if len(body) > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"frame of {len(body)} bytes exceeds {MAX_FRAME_BYTES}")
    return _LENGTH.pack(len(body)) + body


class FrameDecoder:
    """Turns a byte stream into JSON values, one per frame."""

    def __init__(self, max_frame: int = MAX_FRAME_BYTES) -> None:
        self._buf = bytearray()
        self._max = max_frame
        #: Frames whose body was not valid UTF-8 JSON (skipped, stream intact).
        self.bad_frames = 0

    def feed(self, data: bytes) -> list[Any]:
        """Add ``data``; return every complete, well-formed frame's value.

        Raises :class:`FrameTooLarge` on an oversized length prefix.
        """
        self._buf += data
        values = []
        while len(self._buf) >= 4:
            (length,) = _LENGTH.unpack_from(self._buf)
            if length > self._max:
                raise FrameTooLarge(f"length prefix {length} exceeds {self._max}")
            if len(self._buf) < 4 + length:
                break
            body = bytes(self._buf[4:4 + length])
            del self._buf[:4 + length]
            try:
                values.append(json.loads(body))
            except (ValueError, RecursionError):  # bad UTF-8 is a ValueError too
                self.bad_frames += 1
        return values

    @property
    def buffered(self) -> int:
        return len(self._buf)
