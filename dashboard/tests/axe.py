"""axe-core (vendored in ``assets/axe-core``, its licence beside it) run in a Playwright page.

The script is evaluated through the DevTools protocol, which the pages' Content Security
Policy (``script-src 'self'``) does not block, so the page is checked as users get it.
"""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).parent / "assets" / "axe-core" / "axe.min.js"
AXE_VERSION = "4.14.1"
BLOCKING = ("serious", "critical")
EVERY_IMPACT = ("minor", "moderate", "serious", "critical")


def axe_violations(page, impacts: tuple[str, ...] = BLOCKING) -> list[str]:
    """Every violation of ``impacts`` on the page as it stands: ``"rule: target …"`` lines."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    assert page.evaluate("() => axe.version") == AXE_VERSION
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {node['target']} {node['failureSummary']}"
        for v in result["violations"]
        if v["impact"] in impacts
        for node in v["nodes"]
    ]
