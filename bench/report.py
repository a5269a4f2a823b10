"""Turn the benchmark results file into a markdown table (the latest run of each figure).

.venv/bin/python bench/report.py [--results var/bench/results.jsonl] [--out var/bench/results.md]
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402


def number(value: float, unit: str) -> str:
    if unit in ("lines/s", "req/s"):
        return f"{value:,.0f} {unit}"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:.1f} {unit}"


def render(entries: list[dict], *, databases: list[str] | None = None) -> str:
    latest: dict[tuple[str, str, str], tuple[dict, dict]] = {}
    for entry in entries:
        for row in entry["rows"]:
            key = (entry["database"] or entry["scale"], entry["bench"], row["name"])
            latest[key] = (entry, row)
    out = [
        "| scale / database | figure | value | target | raw limit (same run) | ratio | result"
        " | load avg (1/5/15 min) | detail |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (database, _bench, _name), (entry, row) in sorted(latest.items()):
        if databases and database not in databases:
            continue
        better = "≤" if row["better"] == "lower" else "≥"
        target = "—" if row["target"] is None else f"{better} {number(row['target'], row['unit'])}"
        raw = (
            f"{number(row['raw'], row['unit'])} ({row['raw_label']})"
            if row.get("raw") is not None
            else "—"
        )
        ratio = f"{row['ratio']:.2f}×" if row.get("ratio") is not None else "—"
        result = {True: "pass", False: "**FAIL**", None: "info"}[row["passed"]]
        out.append(
            f"| {database} {entry['notes']} | {row['name']} | {number(row['value'], row['unit'])}"
            f" | {target} | {raw} | {ratio} | {result} | {entry['load']} ({entry['at']}) |"
            f" {row['detail']} |"
        )
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", default=str(_common.RESULTS))
    parser.add_argument("--out", default=str(_common.RESULTS.with_suffix(".md")))
    parser.add_argument("--database", action="append", help="only these databases")
    args = parser.parse_args()
    path = Path(args.results)
    if not path.exists():
        print(f"no results yet ({path}): run a benchmark first")
        return
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    table = render(entries, databases=args.database)
    Path(args.out).write_text("# Benchmark results (DESIGN §7)\n\n" + table)
    print(table)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
