"""stdin read by the event loop itself.

pygls 2.1.1's StdinAsyncReader reads every header line and every body in its thread pool: three
thread hops per message, ~0.3 ms each on a busy 2-core machine while the engine's threads spin.
When stdin is a pipe or a socket (as when an editor starts the server), PipeReader reads it with
asyncio's own pipe transport instead. A terminal, a file, or a stdin that is the same file as
stdout (asyncio's pipe transport makes the file non-blocking, which would then also hit stdout's
writes) keeps pygls' reader.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from typing import BinaryIO

log = logging.getLogger(__name__)

HEADER_LIMIT = 1 << 20  # bytes in one header line; a longer line is skipped as garbage
_SKIPPED = b"X-Skipped: too long\r\n"  # what a skipped line reads as: not a header pygls knows


def pipe_readable(stdin: BinaryIO, stdout: BinaryIO) -> bool:
    """Whether stdin can be read by asyncio's pipe transport without side effects on stdout."""
    try:
        into, out = os.fstat(stdin.fileno()), os.fstat(stdout.fileno())
    except (AttributeError, OSError, ValueError):  # no real file behind it (tests pass BytesIO)
        return False
    if not (stat.S_ISFIFO(into.st_mode) or stat.S_ISSOCK(into.st_mode)):
        return False
    return (into.st_dev, into.st_ino) != (out.st_dev, out.st_ino)


class PipeReader:
    """pygls' AsyncReader interface (readline, readexactly) over asyncio's pipe transport."""

    def __init__(self, stdin: BinaryIO):
        self.stdin = stdin
        self._stream: asyncio.StreamReader | None = None

    async def _connected(self) -> asyncio.StreamReader:
        if self._stream is None:
            stream = asyncio.StreamReader(limit=HEADER_LIMIT)
            loop = asyncio.get_running_loop()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), self.stdin)
            self._stream = stream
        return self._stream

    async def readline(self) -> bytes:
        """A line, b"" at the end of the input (as pygls' reader)."""
        stream = await self._connected()
        try:
            return await stream.readline()
        except ValueError:  # longer than HEADER_LIMIT: asyncio dropped it; not a header, so pygls skips it
            log.warning("skipped a header line longer than %d bytes", HEADER_LIMIT)
            return _SKIPPED

    async def readexactly(self, n: int) -> bytes:
        """n bytes, or fewer (possibly b"") when the input ends first (as pygls' reader)."""
        stream = await self._connected()
        try:
            return await stream.readexactly(n)
        except asyncio.IncompleteReadError as exc:
            return exc.partial
