"""Reading length-prefixed messages from a pipe without ever waiting past a deadline."""
from __future__ import annotations

import os
import select
import struct
import time

_LEN = struct.Struct("<Q")


class BlobStream:
    """Collects complete messages from fd until EOF, the deadline, or the byte budget."""

    def __init__(self, fd: int, max_bytes: int):
        self.fd = fd
        self.max_bytes = max_bytes
        self.buffer = bytearray()
        self.received = 0
        self.eof = False
        self.overflow = False

    def read_until(self, deadline: float, want: int | None = None) -> list[bytes]:
        """Messages completed before the deadline; stops early after `want` messages."""
        blobs: list[bytes] = []
        while not self.eof and not self.overflow:
            blobs.extend(self._split())
            if want is not None and len(blobs) >= want:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                break
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                self.eof = True
                break
            self.received += len(chunk)
            if self.received > self.max_bytes:
                self.overflow = True
                break
            self.buffer.extend(chunk)
        blobs.extend(self._split())
        return blobs

    def _split(self) -> list[bytes]:
        out = []
        while len(self.buffer) >= _LEN.size:
            (length,) = _LEN.unpack_from(self.buffer)
            if length > self.max_bytes:
                self.overflow = True
                break
            if len(self.buffer) < _LEN.size + length:
                break
            out.append(bytes(self.buffer[_LEN.size:_LEN.size + length]))
            del self.buffer[:_LEN.size + length]
        return out
