"""Handing freed memory back to the system between the chunks of a long load."""

import ctypes


def _libc_malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


# pandas frees each chunk's memory, but glibc keeps it in its arenas (one per thread);
# handing it back after every chunk keeps the footprint flat on very long files.
_malloc_trim = _libc_malloc_trim()


def memory_trim() -> None:
    if _malloc_trim is not None:
        _malloc_trim(0)
