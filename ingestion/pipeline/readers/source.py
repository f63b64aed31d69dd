"""A file opened once and read once: its sha256 taken from the bytes the readers consume.

``FileSource`` is what a load reads: the format check takes its first bytes, the CSV
reader parses the rest, and every byte is hashed as it first comes from the disk, so the
file's sha256 and size are known when the parse reaches its end, without a pass of their
own. The bytes read before the reader starts (the format check's sample, the header) are
kept in memory and served again after its rewind to the start, so that rewind reads
nothing twice. A workbook is read by its own library (random access, by path): for it,
``rest_hash`` reads on to the end once.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

BLOCK_BYTES = 1 << 20


class FileSource(io.RawIOBase):
    """Raw, sequential reads of one file; ``sha256`` once its last byte was read."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._file = open(self.path, "rb", buffering=0)  # noqa: SIM115 - closed by close()
        self._digest = hashlib.sha256()
        self._head = bytearray()  # the bytes read from disk so far, while ``_keep``
        self._keep = True
        self._pos = 0  # the position of the next byte served
        self.bytes_read = 0  # bytes read from disk (each once)
        self.sha256: str | None = None  # set at the end of the file

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Back to a byte already read and still kept (the start, before ``head_release``)."""
        if whence != io.SEEK_SET or offset > self.bytes_read or (offset < self.bytes_read and not self._keep):
            raise io.UnsupportedOperation("only back to a byte still kept in memory")
        self._pos = offset
        return offset

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        if not len(view):
            return 0
        if self._pos < self.bytes_read:  # served again from memory
            n = min(len(view), self.bytes_read - self._pos)
            view[:n] = self._head[self._pos : self._pos + n]
            self._pos += n
            if not self._keep and self._pos == self.bytes_read:
                self._head = bytearray()
            return n
        n = self._file.readinto(view) or 0
        if n == 0:
            self.sha256 = self.sha256 or self._digest.hexdigest()
            return 0
        self._digest.update(view[:n])
        if self._keep:
            self._head += view[:n]
        self.bytes_read += n
        self._pos += n
        return n

    def sample(self, size: int) -> bytes:
        """The file's first ``size`` bytes (fewer if it is shorter); the next read starts over."""
        self.seek(0)
        sample = bytearray()
        while len(sample) < size and (block := self.read(size - len(sample))):
            sample += block
        self.seek(0)
        return bytes(sample)

    def head_release(self) -> None:
        """No more rewinds: the bytes kept for them go once they are served again."""
        self._keep = False
        if self._pos == self.bytes_read:
            self._head = bytearray()

    def rest_hash(self) -> str:
        """Read on to the end (nothing when the parse got there); the file's sha256."""
        self.head_release()
        self._pos = max(self._pos, self.bytes_read)
        while self.read(BLOCK_BYTES):
            pass
        assert self.sha256 is not None
        return self.sha256

    def close(self) -> None:
        self._file.close()
        super().close()


def file_sha256(path: Path) -> tuple[str, int]:
    """(sha256, size) of a file, read once to its end."""
    with FileSource(path) as source:
        return source.rest_hash(), source.bytes_read
