"""Shared by the scale benchmarks: settings as production runs them, timing statistics, the raw
limit (the statements a request sent, replayed through bare psycopg2), and the results file that
``bench/report.py`` turns into a table.

The scale databases are seeded (``manage.py seed_scale``) with the development field key; the
benchmarks run with DEBUG off and that key, so the app reads the data exactly as it would in
production (no query log kept, template caching on).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("BENCH_RESULTS", ROOT / "var" / "bench" / "results.jsonl"))
BENCH_SECRET_KEY = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
# The key the development settings derive (DEBUG on, no FIELD_ENCRYPTION_KEY): the scale data's.
DEV_FIELD_KEY = "development-only-field-key:development-only-insecure-key-do-not-use-in-production"


def production_env(*, debug: bool = False) -> None:
    """Environment for django.setup(): DEBUG off, the development field key (the scale data's)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recovery.settings")
    os.environ["DEBUG"] = "true" if debug else "false"
    if not debug:
        os.environ.setdefault("SECRET_KEY", BENCH_SECRET_KEY)
        os.environ.setdefault("FIELD_ENCRYPTION_KEY", DEV_FIELD_KEY)
        os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
        os.environ.setdefault("SECURE_COOKIES", "false")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("LOG_LEVEL", "WARNING")


def setup() -> None:
    import django

    django.setup()
    from django.conf import settings

    if not settings.DEBUG:
        # Production serves hashed static names from the collected manifest.
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)


def raw_connection():
    import psycopg2
    from django.db import connection

    return psycopg2.connect(**connection.get_connection_params())


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def latency(values: list[float]) -> dict[str, float]:
    """p50 / p95 / max in milliseconds."""
    return {
        "p50": statistics.median(values) * 1000,
        "p95": percentile(values, 0.95) * 1000,
        "max": max(values) * 1000,
        "n": len(values),
    }


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


class Recorder:
    """Records every statement Django sends (SQL, parameters), for the raw replay."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, object, bool]] = []

    def __call__(self, execute, sql, params, many, context):
        if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            self.statements.append((sql, params, many))
        return execute(sql, params, many, context)


def replay(conn, statements: list[tuple[str, object, bool]]) -> float:
    """Send the recorded statements through bare psycopg2, fetching every row; seconds.
    Rolled back, so replayed writes (the access log, the session) leave nothing behind."""
    started = time.perf_counter()
    with conn.cursor() as cursor:
        for sql, params, many in statements:
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
            if cursor.description is not None:
                cursor.fetchall()
    elapsed = time.perf_counter() - started
    conn.rollback()
    return elapsed


def record(bench: str, rows: list[dict], *, scale: str = "", notes: str = "") -> None:
    """Append this run's figures to the results file (one JSON object per line)."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "bench": bench,
        "scale": scale or os.environ.get("BENCH_SCALE", ""),
        "database": os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1],
        "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load": load_average(),
        "rows": rows,
        "notes": notes,
    }
    with RESULTS.open("a") as out:
        out.write(json.dumps(entry) + "\n")


def figure(
    name: str,
    value: float,
    unit: str,
    *,
    target: float | None,
    better: str = "lower",
    raw: float | None = None,
    raw_label: str = "",
    detail: str = "",
) -> dict:
    """One row of the results table; the ratio is value / raw (how far above the raw limit)."""
    if target is None:
        passed = None  # no target in DESIGN §7: shown for information
    else:
        passed = value <= target if better == "lower" else value >= target
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "target": target,
        "better": better,
        "passed": passed,
        "raw": raw,
        "raw_label": raw_label,
        "ratio": (value / raw) if raw else None,
        "detail": detail,
    }
