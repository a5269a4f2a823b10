"""HTTP throughput of the case list under gunicorn, on loopback, beside gunicorn serving a
trivial view (the raw limit of the same server on the same machine).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recovery_scale1m \\
        .venv/bin/python bench/bench_http.py [--seconds 15] [--connections 8] [--workers 3]

Needs `wrk` (Debian package; `make bench` installs it when missing) and a database seeded by
``manage.py seed_scale``. Starts gunicorn on 127.0.0.1 (a free port) with DEBUG off, signs a
specialist and a supervisor in (a real session in the database), and runs wrk, bounded in time,
against: /healthz (no database, no session: the trivial view), the supervisor's case list
sorted by lien amount, and the specialist's case list (default sort). The server is stopped
at the end. Figures: requests per second and wrk's latency percentiles.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def session_cookie(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def wrk(url: str, *, seconds: int, connections: int, cookie: str = "") -> dict:
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    if cookie:
        command += ["-H", f"Cookie: sessionid={cookie}"]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))

    def ms(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rate": rate,
        "p50": ms("50"),
        "p90": ms("90"),
        "p99": ms("99"),
        "non2xx": int(errors.group(1)) if errors else 0,
        "output": output,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk; make bench does it).")
    _common.production_env()
    _common.setup()
    from cases.models import Case
    from recovery.core.models import User

    specialist = User.objects.filter(role="specialist", username__startswith="scale-").first()
    supervisor = User.objects.filter(role="supervisor", username__startswith="scale-").first()
    if specialist is None or supervisor is None:
        sys.exit("No scale users: seed the database with manage.py seed_scale first.")
    total = Case.objects.count()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(_common.ROOT / ".venv" / "bin" / "gunicorn"),
            "recovery.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=_common.ROOT,
        env=os.environ.copy(),
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            sys.exit("gunicorn did not start")
        cookies = {
            "specialist": session_cookie(specialist),
            "supervisor": session_cookie(supervisor),
        }
        print(
            f"{total:,} cases; gunicorn {args.workers} workers on {base}; wrk"
            f" {args.connections} connections x {args.seconds} s; load average"
            f" {_common.load_average()}"
        )
        runs = {}
        for label, path, role in (
            ("trivial view (/healthz)", "/healthz", None),
            ("case list, supervisor, by lien", "/cases/?sort=-lien", "supervisor"),
            ("case list, specialist", "/cases/", "specialist"),
        ):
            url = base + path
            wrk(url, seconds=2, connections=2, cookie=cookies.get(role, ""))  # warm-up
            result = wrk(
                url,
                seconds=args.seconds,
                connections=args.connections,
                cookie=cookies.get(role, ""),
            )
            runs[label] = result
            print(
                f"  {label:34} {result['rate']:8.1f} req/s  p50 {result['p50']:7.1f} ms"
                f"  p90 {result['p90']:7.1f} ms  p99 {result['p99']:7.1f} ms"
                f"  non-2xx {result['non2xx']}"
            )
            if result["non2xx"]:
                sys.exit(f"{label}: {result['non2xx']} error responses")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    trivial = runs["trivial view (/healthz)"]["rate"]
    rows = []
    for label in ("case list, supervisor, by lien", "case list, specialist"):
        result = runs[label]
        rows.append(
            _common.figure(
                f"HTTP {label}",
                result["rate"],
                "req/s",
                target=None,
                better="higher",
                raw=trivial,
                raw_label="req/s of the same gunicorn serving /healthz",
                detail=f"wrk latency p50 {result['p50']:.1f} ms, p90 {result['p90']:.1f} ms,"
                f" p99 {result['p99']:.1f} ms; {args.connections} connections,"
                f" {args.workers} workers, {args.seconds} s",
            )
        )
    _common.record("http", rows, notes=f"{total:,} cases")


if __name__ == "__main__":
    main()
