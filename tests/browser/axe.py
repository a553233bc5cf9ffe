"""axe-core (vendored from npm under ``vendor/axe-core/`` with its licence) run in a page: WCAG 2.1 A/AA checks."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"  # axe-core from npm, with its licence
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page, *, impacts=("serious", "critical")) -> list[str]:
    """WCAG 2.1 A/AA violations axe-core finds on the page as it is now, of ``impacts``: "rule: where" lines."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # evaluated through the DevTools protocol, not as a <script>: the hub's Content-Security-Policy allows none
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", WCAG_AA
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
        if v.get("impact") in impacts
    ]
