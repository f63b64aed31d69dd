"""Which invoice ids of a file may have been seen before: a Bloom filter of fixed size.

"Certainly new" ids can go to the warehouse as soon as their chunk is staged; the
few "maybe seen" ones are settled exactly in SQL at the end of the batch. Memory
is the same for a thousand rows or a hundred million.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class InvoiceIdFilter:
    def __init__(self, *, bits: int = 1 << 28, hashes: int = 4) -> None:
        self.size = np.uint64(bits)
        self.hashes = hashes
        self.bits = np.zeros((bits + 7) // 8, dtype=np.uint8)

    def _positions(self, ids: np.ndarray) -> list[np.ndarray]:
        digest = pd.util.hash_array(ids, categorize=False)
        low = digest & np.uint64(0xFFFFFFFF)
        step = (digest >> np.uint64(32)) | np.uint64(1)
        return [(low + np.uint64(i) * step) % self.size for i in range(self.hashes)]

    def maybe_seen(self, ids: pd.Series) -> np.ndarray:
        """For each id: True if it may have been passed before (earlier call or earlier in ``ids``).

        False is certain (never seen); True may be a false positive. Then remembers ``ids``.
        """
        values = ids.to_numpy(dtype=object)
        if len(values) == 0:
            return np.zeros(0, dtype=bool)
        positions = self._positions(values)
        seen = np.ones(len(values), dtype=bool)
        for pos in positions:
            seen &= (self.bits[pos >> np.uint64(3)] >> (pos & np.uint64(7)).astype(np.uint8)) & 1 == 1
        seen |= ids.duplicated(keep="first").to_numpy()
        for pos in positions:
            np.bitwise_or.at(
                self.bits, pos >> np.uint64(3), np.left_shift(1, (pos & np.uint64(7))).astype(np.uint8)
            )
        return seen
