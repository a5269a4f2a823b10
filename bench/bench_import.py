"""Claims import throughput (DESIGN §7: >= 50,000 lines/s including trauma screening).

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/recovery_bench \\
        .venv/bin/python bench/bench_import.py --lines 200000 [--repeat 3]

Generates synthetic claims CSVs (about 10% of lines with trauma codes, the rest everyday
diagnoses; ten lines per member), then times on the same database, each through
``cases.imports.run_import`` as a worker runs it:
  1. a file whose members are all new (they are created, with history rows);
  2. files of new lines for members on file: the everyday case, run --repeat times;
  3. the last file again: every line unchanged, nothing written;
and two raw limits for the same rows:
  - bare COPY into a temp table (no index, no constraint, no WAL): the brief's raw limit;
  - bare COPY into cases_claimline itself, with its indexes and the foreign-key checks at
    commit, rolled back: what the table costs whatever the import does.
Not a test: it prints. The machine may be shared, so the best and the median run are shown.
"""

import argparse
import atexit
import csv
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import _common  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recovery.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/recovery_bench")
os.environ.setdefault("DEBUG", "true")
if "MEDIA_ROOT" not in os.environ:  # the stored copies of the generated files go away after
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="bench-import-")
    atexit.register(shutil.rmtree, os.environ["MEDIA_ROOT"], ignore_errors=True)

HEADER = [
    "claim_number", "line_number", "member_id", "member_last_name", "member_first_name",
    "member_dob", "provider_npi", "provider_name", "service_from", "service_to",
    "procedure_code", "modifiers", "diagnosis_codes", "code_set", "billed_amount",
    "allowed_amount", "paid_amount", "paid_date", "accident_indicator", "accident_state",
    "accident_date", "occurrence_codes", "value_codes", "fmap_rate",
]  # fmt: skip
TRAUMA = [
    "S72.001A", "S82.201A", "S09.90XA", "T14.8XXA", "S13.4XXA V43.52XA", "S06.0X0A W01.0XXA",
    "S52.501A", "S42.001A Y92.410", "S82.201D", "T43.011A", "S32.009A V89.2XXA", "S62.600A",
]  # fmt: skip
EVERYDAY = [
    "I10", "E11.9", "J06.9", "Z00.00", "M54.5", "E78.5", "F32.9", "J45.909", "K21.9",
    "N39.0", "R05", "Z23", "I10 E11.9", "E11.9 E78.5", "M54.5 M54.2", "J06.9 R05", "F41.1",
]  # fmt: skip
PROCEDURES = ["99213", "99214", "99203", "99285", "71045", "73560", "80053", "85025", "97110", "J1885"]  # fmt: skip
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Lopez"]
FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "Ana"]
STATES = ["GA", "FL", "TX", "OH", "NC"]


def ensure_database(url: str) -> None:
    import psycopg2

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username, dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")
    admin.close()


def generate(lines: int, members: int, claims: str, people: str, rng: random.Random) -> bytes:
    """`lines` claim lines; claim numbers start with `claims`, program ids with `people`."""
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(HEADER)
    npis = [f"1{rng.randrange(10**8, 10**9)}" for _ in range(400)]
    start = date(2023, 1, 1)
    written = claim = 0
    while written < lines:
        claim += 1
        member = rng.randrange(members)
        trauma = rng.random() < 0.10
        service = start + timedelta(days=rng.randrange(900))
        paid_on = service + timedelta(days=rng.randrange(14, 60))
        npi = rng.choice(npis)
        accident = "AA" if trauma and rng.random() < 0.3 else ""
        for number in range(1, rng.choice((1, 1, 2, 3, 4)) + 1):
            if written == lines:
                break
            billed = rng.randrange(2_000, 500_000)
            paid = billed * rng.randrange(30, 90) // 100
            out.writerow(
                (
                    f"{claims}{claim:09d}",
                    number,
                    f"{people}{member:08d}",
                    LAST[member % len(LAST)],
                    FIRST[member % len(FIRST)],
                    f"{1940 + member % 70}-{1 + member % 12:02d}-{1 + member % 28:02d}",
                    npi,
                    f"Provider {npi[-3:]} Medical Group",
                    service.isoformat(),
                    service.isoformat(),
                    rng.choice(PROCEDURES),
                    "25" if rng.random() < 0.05 else "",
                    rng.choice(TRAUMA) if trauma else rng.choice(EVERYDAY),
                    "ICD10",
                    f"{billed // 100}.{billed % 100:02d}",
                    f"{paid // 100}.{paid % 100:02d}",
                    f"{paid // 100}.{paid % 100:02d}",
                    paid_on.isoformat(),
                    accident,
                    rng.choice(STATES) if accident else "",
                    service.isoformat() if accident else "",
                    "",
                    "",
                    "0.6500" if member % 3 else "0.9000",
                )
            )
            written += 1
    return buffer.getvalue().encode()


def backend_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (same host only)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_import(content: bytes, name: str):
    """Wall seconds, and CPU seconds of this process (both threads) and of the loading backend:
    on a shared machine the CPU figures say what the import costs, the wall time what it met."""
    from cases.imports import create_batch, run_import

    batch = create_batch(uploaded_by=None, filename=name, content=content)
    database, python = backend_cpu(), time.process_time()
    started = time.perf_counter()
    batch = run_import(batch_id=batch.pk)
    elapsed = time.perf_counter() - started
    python, database = time.process_time() - python, backend_cpu() - database
    if batch.status != "done":
        raise SystemExit(f"import failed: {batch.message}")
    batch.cpu = (python, database)
    return batch, elapsed


COPY_COLUMNS = """claim_number varchar(50), line_number integer, member_id text,
    member_last_name text, member_first_name text, member_dob date, provider_npi varchar(10),
    provider_name varchar(120), service_from date, service_to date, procedure_code varchar(10),
    modifiers varchar(20), diagnosis_codes varchar(200), code_set varchar(5),
    billed_amount numeric(14,2), allowed_amount numeric(14,2), paid_amount numeric(14,2),
    paid_date date, accident_indicator varchar(20), accident_state varchar(2),
    accident_date date, occurrence_codes varchar(60), value_codes varchar(60),
    fmap_rate numeric(5,4)"""


def bare_copy_to_temp(content: bytes) -> float:
    """The raw limit: the same rows COPYed into a typed temp table, nothing else."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE bench_copy ({COPY_COLUMNS}) ON COMMIT DROP")
        started = time.perf_counter()
        cursor.cursor.copy_expert(
            "COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)", io.BytesIO(content)
        )
        return time.perf_counter() - started


TEXT_COLUMNS = (
    "payer_claim_number, provider_npi, provider_name, procedure_code, modifiers,"
    " diagnosis_codes, code_set, accident_indicator, accident_state, occurrence_codes,"
    " value_codes"
)


def bare_copy_to_table(content: bytes) -> float:
    """The table's own floor: the same rows COPYed straight into cases_claimline (already
    screened, member ids known), with the foreign-key checks the commit would run. Rolled
    back."""
    from django.db import connection, transaction

    from cases.models import ClaimLine, ImportBatch, Member

    batch_id = ImportBatch.objects.order_by("-id").values_list("id", flat=True).first()
    member_ids = list(Member.objects.order_by("-id").values_list("id", flat=True)[:1000])
    rows = io.StringIO()
    out = csv.writer(rows, lineterminator="\n")
    for number, row in enumerate(csv.reader(io.StringIO(content.decode()))):
        if number == 0:
            continue
        out.writerow(
            (
                f"T{row[0]}", row[1], member_ids[number % len(member_ids)], "", row[6], row[7],
                row[8], row[9], row[10], row[11], row[12].replace(".", ""), row[13], row[14],
                row[15], row[16], row[17], row[18], row[19], row[20], row[21], row[22],
                row[23], "no_hit", "no_trauma_signal",
                "No trauma diagnosis, accident indicator, occurrence code or value code on the line.",  # fmt: skip
                "f", "csv", batch_id, "2026-01-01T00:00:00+00:00",
            )
        )  # fmt: skip
    columns = (
        "claim_number, line_number, member_id, payer_claim_number, provider_npi, provider_name,"
        " service_from,"
        " service_to, procedure_code, modifiers, diagnosis_codes, code_set, billed_amount,"
        " allowed_amount, paid_amount, paid_date, accident_indicator, accident_state,"
        " accident_date, occurrence_codes, value_codes, fmap_rate, screening_decision,"
        " screening_rule, screening_reason, opens_case, source, batch_id, imported_at"
    )
    rows.seek(0)
    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.cursor.copy_expert(
            f"COPY {ClaimLine._meta.db_table} ({columns}) FROM STDIN WITH (FORMAT csv,"
            f" FORCE_NOT_NULL ({TEXT_COLUMNS}))",
            rows,
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the checks COMMIT would run
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--members", type=int, default=None, help="default: lines / 10")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the everyday case")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    members = args.members or max(args.lines // 10, 1)

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    from cases.models import ClaimLine

    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    # New claim numbers and new members on every run, so each run sees the same shape of data.
    run = f"B{int(time.time()) % 10**6:06d}"
    print(
        f"{args.lines:,} lines per file, {members:,} members, "
        f"{ClaimLine.objects.count():,} claim lines already in the table, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )

    def report(label, batch, seconds):
        python, database = batch.cpu
        print(
            f"  {label:34} {seconds:6.2f} s  {batch.total_rows / seconds:>8,.0f} lines/s  "
            f"(CPU: Python {python:.1f} s, PostgreSQL {database:.1f} s; "
            f"inserted {batch.inserted:,}, updated {batch.updated:,}, "
            f"unchanged {batch.unchanged:,}, rejected {batch.rejected:,}, hits {batch.hits:,})"
        )

    first = generate(args.lines, members, run + "A", run, rng)
    batch, seconds = timed_import(first, "members created")
    report("new members (created)", batch, seconds)

    everyday = []
    for attempt in range(args.repeat):
        content = generate(args.lines, members, f"{run}B{attempt}", run, rng)
        batch, seconds = timed_import(content, "members on file")
        everyday.append(seconds)
        report(f"members on file, run {attempt + 1}", batch, seconds)
    batch, seconds = timed_import(content, "unchanged")
    report("same file again (unchanged)", batch, seconds)

    print(f"  load average now {os.getloadavg()[0]:.1f}")
    temp = min(bare_copy_to_temp(content) for _ in range(max(args.repeat, 2)))
    table = min(bare_copy_to_table(content) for _ in range(max(args.repeat, 2)))
    best, median = min(everyday), statistics.median(everyday)
    print(f"  {'bare COPY into a temp table':34} {temp:6.2f} s  {args.lines / temp:>8,.0f} lines/s")
    print(
        f"  {'bare COPY into cases_claimline':34} {table:6.2f} s  {args.lines / table:>8,.0f} lines/s"
        "  (indexes + FK checks, rolled back)"
    )
    print(
        f"import, members on file: best {args.lines / best:,.0f} lines/s, median "
        f"{args.lines / median:,.0f} lines/s; {best / temp:.1f}x the bare COPY into a temp "
        f"table, {best / table:.1f}x the bare COPY into cases_claimline; target 50,000 "
        f"lines/s {'met' if args.lines / best >= 50_000 else 'NOT met'}"
    )
    _common.record(
        "import",
        [
            _common.figure(
                "claims import, members on file (best run)",
                args.lines / best,
                "lines/s",
                target=50_000,
                better="higher",
                raw=args.lines / temp,
                raw_label="bare COPY into a temp table",
                detail=f"median {args.lines / median:,.0f} lines/s; bare COPY into the indexed"
                f" cases_claimline {args.lines / table:,.0f} lines/s (import ="
                f" {(args.lines / best) / (args.lines / table):.0%} of it);"
                f" {args.lines:,} lines per file, {ClaimLine.objects.count():,} lines in the"
                " table",
            )
        ],
    )


if __name__ == "__main__":
    main()
