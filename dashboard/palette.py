"""Fills for categories told apart by colour alone (the rejection reasons), safe for
colour-blind readers; pure like ``dashboard.figures``."""

from __future__ import annotations

# Okabe and Ito's palette (its black a dark grey, kept apart from the purple for deuteranopes,
# as grey is not), for categories told apart by colour; then hatched fills for more.
REASON_COLORS = ("#0072B2", "#E69F00", "#56B4E9", "#D55E00", "#009E73", "#CC79A7", "#F0E442", "#404040")
REASON_PATTERNS = ("", "/", ".", "x")


def reason_marker(index: int) -> dict:
    """The ``index``-th reason's fill: Okabe and Ito's colours (told apart with any colour
    vision), then the same colours hatched; a thin edge keeps stacked neighbours apart."""
    color = REASON_COLORS[index % len(REASON_COLORS)]
    shape = REASON_PATTERNS[index // len(REASON_COLORS) % len(REASON_PATTERNS)]
    marker = {"color": color, "line": {"color": "rgba(255,255,255,0.85)", "width": 1}}
    hatch = {"shape": shape, "bgcolor": color, "fgcolor": "#ffffff", "solidity": 0.3}
    return {**marker, "pattern": hatch} if shape else marker
