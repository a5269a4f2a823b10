"""Seed (or reuse) a scale database, run every benchmark against it, write the results table.

    .venv/bin/python bench/run_all.py --scale 100000        # what `make bench SCALE=100000` runs

The database is `recovery_scale<SCALE>` (e.g. recovery_scale100k, recovery_scale1m) on the PostgreSQL of DATABASE_URL's server (default
127.0.0.1, user postgres). It is created, migrated and seeded with `manage.py seed_scale` when
it holds no cases; a database seeded before is reused as it is. Benchmarks that build their own
data use their own databases: the claims import `recovery_bench_import`, the letters a throwaway
SQLite file. Results go to var/bench/results.jsonl and the table to var/bench/results.md.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")


def database_name(scale: int) -> str:
    """recovery_scale100k, recovery_scale1m, recovery_scale2500 ..."""
    if scale % 1_000_000 == 0:
        return f"recovery_scale{scale // 1_000_000}m"
    if scale % 1000 == 0:
        return f"recovery_scale{scale // 1000}k"
    return f"recovery_scale{scale}"


def database_url(name: str) -> str:
    base = os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432")
    return f"{base}/{name}"


def run(command: list[str], env: dict, log) -> None:
    started = time.perf_counter()
    print("$", " ".join(command[1:]), flush=True)
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)
    log.append((" ".join(command[1:]), result.returncode, time.perf_counter() - started))
    if result.returncode:
        print(f"  (exit {result.returncode})", flush=True)


def cases_in(url: str) -> int | None:
    import psycopg2

    try:
        conn = psycopg2.connect(url)
    except psycopg2.OperationalError:
        return None
    with conn, conn.cursor() as cursor:
        cursor.execute("SELECT to_regclass('cases_case') IS NOT NULL")
        if not cursor.fetchone()[0]:
            conn.close()
            return 0
        cursor.execute("SELECT count(*) FROM cases_case")
        count = cursor.fetchone()[0]
    conn.close()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=20_000, help="cases in the scale database")
    parser.add_argument("--requests", type=int, default=300, help="per role, list/page benches")
    parser.add_argument("--import-lines", type=int, default=200_000)
    parser.add_argument("--only", action="append", help="run only these benches")
    args = parser.parse_args()
    name = database_name(args.scale)
    url = database_url(name)
    env = {**os.environ, "DATABASE_URL": url, "BENCH_SCALE": f"{args.scale:,} cases"}
    dev = {**env, "DEBUG": "true"}
    sys.path.insert(0, str(ROOT / "bench"))
    import _common

    production = {
        **env,
        "DEBUG": "false",
        "SECRET_KEY": _common.BENCH_SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": _common.DEV_FIELD_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    }
    log: list = []
    count = cases_in(url)
    if count is None:
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
        count = 0
    run([PY, "manage.py", "migrate", "--noinput", "-v0"], dev, log)
    if count == 0:
        run([PY, "manage.py", "seed_scale", "--cases", str(args.scale)], dev, log)
    else:
        print(f"{name} holds {count:,} cases: reused")
    benches = {
        "case_list": [PY, "bench/bench_case_list.py", "--requests", str(args.requests)],
        "case_page": [PY, "bench/bench_case_page.py", "--requests", str(args.requests)],
        "http": [PY, "bench/bench_http.py"],
        "deadlines": [PY, "bench/bench_deadlines.py", "--scale"],
        "ledger": [PY, "bench/bench_ledger.py", "--scale", "--runs", "200"],
        "letters": [PY, "bench/bench_letters.py"],
        "dashboard": [PY, "bench/bench_dashboard.py"],
        "import": [
            PY,
            "bench/bench_import.py",
            "--lines",
            str(args.import_lines),
            "--repeat",
            "3",
        ],
    }
    for bench, command in benches.items():
        if args.only and bench not in args.only:
            continue
        if bench == "import":
            run(command, {**dev, "DATABASE_URL": database_url("recovery_bench_import")}, log)
        elif bench == "letters":
            run(command, dev, log)
        elif bench in ("deadlines", "ledger"):
            run(command, production, log)
        else:
            run(command, env, log)
    run([PY, "bench/report.py"], env, log)
    print()
    for command, code, seconds in log:
        print(f"  {'ok ' if code == 0 else 'ERR'} {seconds:7.1f} s  {command}")
    sys.exit(1 if any(code for _, code, _ in log) else 0)


if __name__ == "__main__":
    main()
