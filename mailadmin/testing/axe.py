"""axe-core, the accessibility checker, run in a page of the browser tests.

The vendored file (mailadmin/tests/vendor/axe.min.js, see the README there) is evaluated through
Playwright, which runs it over the browser's debugging protocol: the panel's
Content-Security-Policy (scripts from 'self' only) does not apply to it and needs no exception.
"""

from functools import cache
from pathlib import Path

AXE_JS = Path(__file__).resolve().parents[1] / "tests" / "vendor" / "axe.min.js"


@cache
def _source():
    return AXE_JS.read_text(encoding="utf-8")


def violations(page):
    """Every axe violation on the page as it is now, of any impact: a list of dicts with
    id, impact, help and the CSS targets of the offending nodes."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_source())
    result = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
            }));
        }"""
    )
    return result


def describe(found):
    return "\n".join(f"  [{v['impact']}] {v['id']}: {v['help']} — {', '.join(v['targets'])}" for v in found)
