"""The supervisor dashboard and the four reports at scale, through the real views (DESIGN §7
names no target for them: the figures are shown for information).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recovery_scale100k \\
        .venv/bin/python bench/bench_dashboard.py [--runs 5]

Needs a database seeded by ``manage.py seed_scale``. For a supervisor (the whole unit) and a
specialist (their own slice): the dashboard computed from the database (cache cleared before
each run) and served from the cache; each report's page for its default period, its CSV and
its PDF. The raw limit of each request is the very statements it sent, replayed through bare
psycopg2. Figures: median and max seconds, SQL statements per request, ratio median / raw.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

REPORTS = ("recoveries", "liens", "compromises", "productivity")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="requests per figure")
    args = parser.parse_args()
    _common.production_env()
    _common.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from cases.models import Case
    from recovery.core.models import User

    users = {
        role: User.objects.filter(role=role, username__startswith="scale-").order_by("pk").first()
        for role in ("supervisor", "specialist")
    }
    if None in users.values():
        sys.exit("No scale users: seed the database with manage.py seed_scale first.")
    total = Case.objects.count()
    raw = _common.raw_connection()
    print(f"{total:,} cases; load average {_common.load_average()}")

    def measure(client, url, params=None, *, cold=False):
        times, raws, counts = [], [], []
        for _ in range(args.runs):
            if cold:
                cache.clear()
            recorder = _common.Recorder()
            started = time.perf_counter()
            with connection.execute_wrapper(recorder):
                response = client.get(url, params or {})
                body = (
                    b"".join(response.streaming_content) if response.streaming else response.content
                )
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code, body[:300])
            counts.append(len(recorder.statements))
            raws.append(_common.replay(raw, recorder.statements))
        return times, raws, counts

    rows = []
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        pages = [("dashboard, computed", reverse("dashboard:index"), None, True)]
        pages.append(("dashboard, from the cache", reverse("dashboard:index"), None, False))
        for name in REPORTS:
            url = reverse(f"dashboard:report-{name}")
            pages += [
                (f"report {name}", url, None, False),
                (f"report {name} CSV", url, {"format": "csv"}, False),
                (f"report {name} PDF", url, {"format": "pdf"}, False),
            ]
        for label, url, params, cold in pages:
            times, raws, counts = measure(client, url, params, cold=cold)
            median, raw_median = statistics.median(times), statistics.median(raws)
            print(
                f"{role:10} {label:28} median {median * 1000:8.1f} ms  max {max(times) * 1000:8.1f} ms"
                f"  raw SQL {raw_median * 1000:8.1f} ms  ×{median / raw_median if raw_median else 0:5.2f}"
                f"  statements {min(counts)}–{max(counts)}",
                flush=True,
            )
            rows.append(
                _common.figure(
                    f"{label} ({role})",
                    median * 1000,
                    "ms",
                    target=None,
                    raw=raw_median * 1000,
                    raw_label="its SQL through psycopg2",
                    detail=f"max {max(times) * 1000:.0f} ms; {max(counts)} statements",
                )
            )
    _common.record("dashboard", rows, notes=f"{total:,} cases")


if __name__ == "__main__":
    main()
