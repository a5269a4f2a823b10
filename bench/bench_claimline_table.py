"""What each index and foreign key of cases_claimline costs a bulk load: the claims import's
floor (DESIGN §7 asks ≥ 50,000 lines/s including screening).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recovery_scale100k \\
        .venv/bin/python bench/bench_claimline_table.py [--lines 200000] [--repeat 3]

COPYs the same already-screened lines (members of the database) into scratch copies of
cases_claimline (CREATE TABLE ... LIKE, in a transaction that is rolled back), each with a
different part of the real table's indexes and foreign keys, foreign keys checked as a commit
would check them. Best of --repeat runs per variant, interleaved.
"""

import argparse
import io
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

COLUMNS = (
    "claim_number, line_number, member_id, payer_claim_number, provider_npi, provider_name,"
    " service_from, service_to, procedure_code, modifiers, diagnosis_codes, code_set,"
    " billed_amount, allowed_amount, paid_amount, paid_date, accident_indicator, accident_state,"
    " accident_date, occurrence_codes, value_codes, fmap_rate, screening_decision, screening_rule,"
    " screening_reason, opens_case, source, batch_id, imported_at"
)


def rows(lines: int, members: list[int], batch: int, rng: random.Random) -> bytes:
    out = io.StringIO()
    start = date(2024, 1, 1)
    for n in range(lines):
        day = start + timedelta(days=rng.randrange(700))
        hit = rng.random() < 0.1
        out.write(
            f"X{n:011d}\t{1 + n % 3}\t{rng.choice(members)}\t\t1234567893\tMercy General"
            f" Hospital\t{day}\t{day}\t99213\t\t{'S8290XA' if hit else 'I10'}\tICD10\t150.00\t"
            f"75.00\t75.00\t{day + timedelta(days=20)}\t\t\t\\N\t\t\t0.6500\t"
            f"{'include' if hit else 'no_hit'}\t{'icd10_injury' if hit else 'no_trauma_signal'}\t"
            f"{'Injury diagnosis S82.90XA' if hit else 'No trauma diagnosis on the line.'}\t"
            f"{'t' if hit else 'f'}\tcsv\t{batch}\t2026-01-01 00:00:00+00\n"
        )
    return out.getvalue().encode()


VARIANTS = {
    "as in production (6 indexes, 2 foreign keys)": {"drop_indexes": [], "fks": True},
    "without the paid_date index": {"drop_indexes": ["paid_date"], "fks": True},
    "without the (member, service_from) index": {
        "drop_indexes": ["member_id, service_from"],
        "fks": True,
    },
    "without the batch_id index": {"drop_indexes": ["batch_id"], "fks": True},
    "without the opening-hits partial index": {"drop_indexes": ["member_id"], "fks": True},
    "without the foreign-key checks": {"drop_indexes": [], "fks": False},
    "primary key and unique key only": {"drop_indexes": ["*"], "fks": False},
    "no index at all": {"drop_indexes": ["*"], "fks": False, "no_keys": True},
}


def load(conn, data: bytes, variant: dict) -> float:
    with conn.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE scratch_line (LIKE cases_claimline INCLUDING DEFAULTS INCLUDING IDENTITY"
            + ("" if variant.get("no_keys") else " INCLUDING INDEXES")
            + ")"
        )
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'scratch_line'"
        )
        for name, definition in cursor.fetchall():
            unique = "UNIQUE" in definition or name.endswith("pkey")
            drops = variant["drop_indexes"]
            if ("*" in drops and not unique) or any(f"({col})" in definition for col in drops):
                cursor.execute(f'DROP INDEX "{name}"')
        if variant["fks"]:
            cursor.execute(
                "ALTER TABLE scratch_line ADD FOREIGN KEY (member_id) REFERENCES cases_member"
                " DEFERRABLE INITIALLY DEFERRED,"
                " ADD FOREIGN KEY (batch_id) REFERENCES cases_importbatch"
                " DEFERRABLE INITIALLY DEFERRED"
            )
        started = time.perf_counter()
        cursor.copy_expert(f"COPY scratch_line ({COLUMNS}) FROM STDIN", io.BytesIO(data))
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the checks COMMIT would run
        elapsed = time.perf_counter() - started
    conn.rollback()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    _common.production_env(debug=True)
    _common.setup()
    from cases.models import ImportBatch, Member

    members = list(Member.objects.values_list("pk", flat=True)[:5000])
    batch = ImportBatch.objects.create(filename="bench", sha256="0" * 64)
    data = rows(args.lines, members, batch.pk, random.Random(3))
    conn = _common.raw_connection()
    best = {name: float("inf") for name in VARIANTS}
    print(f"{args.lines:,} lines; load average {_common.load_average()}")
    for _ in range(args.repeat):
        for name, variant in VARIANTS.items():
            best[name] = min(best[name], load(conn, data, variant))
    base = best["as in production (6 indexes, 2 foreign keys)"]
    for name, seconds in best.items():
        print(
            f"  {name:48} {args.lines / seconds:>9,.0f} lines/s"
            f"  ({seconds / base:.2f} of production's time)"
        )
    batch.delete()
    conn.close()


if __name__ == "__main__":
    main()
