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


#: Built once (``json.dumps`` with options builds one per call); stateless.
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def encode(value: Any) -> bytes:
    body = _ENCODER.encode(value).encode()
    if len(body) > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"frame of {len(body)} bytes exceeds {MAX_FRAME_BYTES}")
    return _LENGTH.pack(len(body)) + body


def parse(body: bytes | bytearray) -> Any:
    """Parse one frame's body; raises ValueError or RecursionError if it is bad.

    A str parses faster than bytes (no guessing of the encoding); what UTF-8
    text does not parse is tried again as bytes, so exactly the frames that
    ``json.loads`` accepts from bytes are accepted.
    """
    try:
        return json.loads(body.decode())
    except ValueError:
        return json.loads(bytes(body))


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
        values = []
        for body in self.frames(data):
            try:
                values.append(parse(body))
            except (ValueError, RecursionError):  # bad UTF-8 is a ValueError
                self.bad_frames += 1
        return values

    def frames(self, data: bytes) -> list[bytearray]:
        """Add ``data``; return the body of every complete frame, not parsed.

        Raises :class:`FrameTooLarge` on an oversized length prefix.
        """
        buf = self._buf
        buf += data
        bodies = []
        # Frames are read at an offset and the buffer is cut once at the end:
        # cutting it after each frame would move the rest of a long read
        # once per frame.
        start = 0
        try:
            while len(buf) - start >= 4:
                (length,) = _LENGTH.unpack_from(buf, start)
                if length > self._max:
                    raise FrameTooLarge(f"length prefix {length} exceeds {self._max}")
                stop = start + 4 + length
                if len(buf) < stop:
                    break
                bodies.append(buf[start + 4:stop])
                start = stop
        finally:
            del buf[:start]
        return bodies

    @property
    def buffered(self) -> int:
        return len(self._buf)
