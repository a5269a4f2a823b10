"""Automated accessibility checks with axe-core (vendored, test-only: see vendor/VENDORED.md).

The script is evaluated through the DevTools protocol, so the page's Content-Security-Policy
(scripts from /static/ only) stays as it is in production.
"""

import json
from pathlib import Path

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
# WCAG 2.0 and 2.1, levels A and AA.
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
BLOCKING = ("serious", "critical")

RUN = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
}"""


def violations(page, *, impacts=BLOCKING, open_disclosures: bool = False) -> list[dict]:
    """The page's WCAG 2 A/AA violations of the given impacts. With `open_disclosures`, every
    <details> is opened first, so the forms they hold are checked too."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    if open_disclosures:
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    found = page.evaluate(RUN, list(WCAG_TAGS))
    return [v for v in found if v["impact"] in impacts]


def report(found: list[dict]) -> str:
    lines = []
    for v in found:
        lines.append(f"{v['impact']}: {v['id']} — {v['help']}")
        for node in v["nodes"][:8]:
            lines.append(f"    {node['target']}: {node['summary']}".replace("\n", " "))
    return "\n".join(lines)


def assert_accessible(page, screen: str, *, open_disclosures: bool = True) -> None:
    """No serious or critical WCAG 2 A/AA violation on the page as it is now, nor with its
    disclosures opened."""
    found = violations(page)
    if open_disclosures and not found:
        found = violations(page, open_disclosures=True)
    assert not found, f"{screen} ({page.url}):\n{report(found)}\n" + json.dumps(
        [v["id"] for v in found]
    )
