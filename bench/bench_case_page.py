"""The case page at scale (DESIGN §7: p95 ≤ 150 ms, a fixed query count), through the real views
with a signed-in specialist (on cases they may see) and a supervisor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recovery_scale1m \\
        .venv/bin/python bench/bench_case_page.py [--requests 300] [--seed 1]

Needs a database seeded by ``manage.py seed_scale``. Random cases; for each, the summary page
(what opening a case shows) and one other tab drawn at random (claims, parties, lien, letters,
settlement, money, activity, tasks, documents, history). The raw limit of each request is the
very statements it sent, replayed through bare psycopg2 (rolled back). Figures: p50 / p95 /
max of the summary and of the tabs per role, the ratio p95 / raw p95, and the spread of SQL
statements per page (the same for a case with 5 lines as for one with 60).
"""

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
from bench_case_list import sample_cases, timed  # noqa: E402

TABS = [
    "cases:claims",
    "cases:parties",
    "liens:case-lien",
    "liens:case-letters",
    "settlements:case",
    "ledger:case",
    "cases:activity",
    "cases:tasks",
    "cases:documents",
    "cases:history",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="cases per role")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    _common.production_env()
    _common.setup()
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from cases.models import Case
    from cases.selectors import cases_visible_to
    from recovery.core.models import User

    rng = random.Random(args.seed)
    tabs = []
    for name in TABS:
        try:
            reverse(name, args=[1])
            tabs.append(name)
        except NoReverseMatch:
            continue
    specialist = (
        User.objects.filter(role="specialist", username__startswith="scale-").order_by("?").first()
    )
    supervisor = (
        User.objects.filter(role="supervisor", username__startswith="scale-").order_by("?").first()
    )
    if specialist is None or supervisor is None:
        sys.exit("No scale users: seed the database with manage.py seed_scale first.")
    total = Case.objects.count()
    raw = _common.raw_connection()
    print(f"{total:,} cases; {len(tabs)} tabs; load average {_common.load_average()}")
    rows = []
    for role, user in (("specialist", specialist), ("supervisor", supervisor)):
        client = Client()
        client.force_login(user)
        visible = cases_visible_to(user)
        if role == "specialist":
            ids = list(
                visible.order_by("?").values_list("pk", flat=True)[: args.requests + 10]
            )  # a specialist opens the cases they may see
        else:
            ids = [case.pk for case in sample_cases(args.requests + 10, rng)]
        for name in ["cases:detail", *tabs]:  # warm-up: templates, the ICD-10-CM tables
            timed(client, reverse(name, args=[ids[0]]))
        results = {"summary": ([], [], []), "tabs": ([], [], [])}
        lines = []
        for n, case_id in enumerate(ids):
            for kind, name in (("summary", "cases:detail"), ("tabs", rng.choice(tabs))):
                seconds, statements, status = timed(client, reverse(name, args=[case_id]))
                if status != 200:
                    sys.exit(f"{name} {case_id} answered {status}")
                if n < 10:
                    continue
                times, raws, counts = results[kind]
                times.append(seconds)
                raws.append(_common.replay(raw, statements))
                counts.append((name, len(statements)))
            if n >= 10:
                lines.append(Case.objects.get(pk=case_id).case_claims.count())
        for kind, (times, raws, counts) in results.items():
            stats, raw_stats = _common.latency(times), _common.latency(raws)
            per_page: dict[str, set[int]] = {}
            for name, count in counts:
                per_page.setdefault(name, set()).add(count)
            spread = ", ".join(f"{name} {min(c)}-{max(c)}" for name, c in sorted(per_page.items()))
            print(
                f"case page {kind:7} ({role:10}): p50 {stats['p50']:6.1f} ms"
                f"  p95 {stats['p95']:6.1f} ms  max {stats['max']:6.1f} ms"
                f" | raw SQL p95 {raw_stats['p95']:5.1f} ms"
                f" | ratio {stats['p95'] / raw_stats['p95']:4.1f}x | statements: {spread}"
            )
            rows.append(
                _common.figure(
                    f"case page {'summary' if kind == 'summary' else 'other tabs'} p95 ({role})",
                    stats["p95"],
                    "ms",
                    target=150,
                    raw=raw_stats["p95"],
                    raw_label="same SQL, bare psycopg2 (p95)",
                    detail=f"p50 {stats['p50']:.1f} ms, max {stats['max']:.1f} ms,"
                    f" {stats['n']} pages; statements per page: {spread}",
                )
            )
        print(
            f"  claim lines on the cases opened: {min(lines)}-{max(lines)}"
            f" (median {sorted(lines)[len(lines) // 2]})"
        )
    _common.record("case_page", rows, notes=f"{total:,} cases")
    raw.close()


if __name__ == "__main__":
    main()
