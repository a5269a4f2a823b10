"""Ledger at scale (DESIGN §7: a posting ≤ 20 ms; the trial balance over 5,000,000 entries ≤ 1 s).

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/recovery_bench \\
        .venv/bin/python bench/bench_ledger.py --entries 5000000

Creates the scratch database if it is missing and migrates it. Its own rows are marked: users and
a team named `bench-lg-*`, one member, cases numbered `BLG-*`, transactions whose memo starts
with `bench-lg`. The ledger is loaded once and kept between runs (entries cannot be deleted —
the database refuses it — so `--cleanup` TRUNCATEs the ledger tables of this scratch database
at the end; `--reload` does so before loading).

Loading: balanced transactions — a deposit (2 entries) and a disbursement of part of it (2
entries, or 3 for a program recovery split into state and federal share) — spread over the bench
cases, with their Deposit and Disbursement rows, by COPY in chunks of one database transaction
each. Every trigger stays on: the first chunk is loaded with the deferred balance check firing
per entry, and measured. When that rate would make the whole load take longer than
`--max-load-minutes`, the remaining chunks are loaded with `session_replication_role = replica`
(this loader's session only; it skips triggers and foreign-key checks, so the data is generated
balanced and consistent, and the bench checks afterwards that every transaction sums to zero
and that the trial balance balances). The case balance rows are then derived from the entries
with one INSERT … SELECT, and the tables are vacuumed (index-only scans need the visibility map).

Measured, on the same data:
1. `post_deposit`, median and p95 of `--runs` calls (each its own database transaction);
2. `approve_disbursement` (managed-care share: the bench cases have no claim lines to split a
   program recovery over), median and p95 of `--runs` calls;
3. the raw limit of each: the very statements the call sent, recorded from the ORM in a
   rolled-back run and replayed through bare psycopg2 (ids from RETURNING remapped), committed;
4. `reports.trial_balance()` — median of `--tb-runs` — against the same SQL through bare
   psycopg2, with the plan (EXPLAIN ANALYZE).
"""

import argparse
import io
import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import _common  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recovery.settings")

PREFIX = "bench-lg"
CASE_PREFIX = "BLG-"
CHUNK_ENTRIES = 250_000
LEDGER_TABLES = [
    "ledger_bankline",
    "ledger_bankstatement",
    "ledger_deposit",
    "ledger_historicaldisbursement",
    "ledger_disbursement",
    "ledger_entry",
    "ledger_transaction",
    "ledger_casebalance",
]


# ---------------------------------------------------------------------------------------------
# Set-up
# ---------------------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    import dj_database_url
    import psycopg2
    from psycopg2 import errors, sql

    config = dj_database_url.parse(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("The ledger bench needs PostgreSQL (DATABASE_URL=postgres://...).")
    admin = psycopg2.connect(
        dbname="postgres",
        user=config["USER"],
        password=config["PASSWORD"] or None,
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
        if cursor.fetchone() is None:
            try:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
                print(f"created database {config['NAME']}")
            except errors.DuplicateDatabase:
                pass
    admin.close()


def raw_connection():
    import psycopg2
    from django.db import connection

    settings = connection.settings_dict
    return psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
    )


def bench_people():
    from recovery.core.models import Role, Team, User

    team, _ = Team.objects.get_or_create(name=f"{PREFIX}-team")
    boss, _ = User.objects.get_or_create(
        username=f"{PREFIX}-sup",
        defaults={"role": Role.SUPERVISOR, "email": f"{PREFIX}-sup@example.org", "team": team},
    )
    if team.supervisor_id != boss.pk:
        team.supervisor = boss
        team.save()
    clerk, _ = User.objects.get_or_create(
        username=f"{PREFIX}-spec",
        defaults={"role": Role.SPECIALIST, "email": f"{PREFIX}-spec@example.org", "team": team},
    )
    return clerk, boss


def bench_cases(count: int, clerk) -> list[int]:
    from django.db import connection
    from django.utils import timezone

    from cases.models import Case, Jurisdiction, Member

    member = Member.objects.filter(last_name=PREFIX).first()
    if member is None:
        member = Member(program_id="BENCHLG00000001", first_name="Bench", last_name=PREFIX)
        member.save()
    florida = Jurisdiction.objects.get_or_create(
        code="FL", defaults={"name": "Florida", "default_sol_years": 4}
    )[0]
    have = Case.objects.filter(number__startswith=CASE_PREFIX).count()
    if have < count:
        now = timezone.now().isoformat()
        buffer = io.StringIO()
        for i in range(have, count):
            buffer.write(
                f"{CASE_PREFIX}{i:09d}\t{member.pk}\t2025-01-15\tauto\t\t{florida.pk}\t"
                f"attorney_letter\treceivable\t2\t{clerk.team_id}\t{clerk.pk}\t\t0.00\t{now}\n"
            )
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(
                "COPY cases_case (number, member_id, incident_date, incident_kind,"
                " incident_description, jurisdiction_id, source, status, priority, team_id,"
                " assigned_to_id, outcome, lien_amount, opened_at) FROM STDIN",
                buffer,
            )
        print(f"COPY {count - have:,} bench cases")
    return list(
        Case.objects.filter(number__startswith=CASE_PREFIX)
        .order_by("pk")
        .values_list("pk", flat=True)[:count]
    )


# ---------------------------------------------------------------------------------------------
# Bulk load
# ---------------------------------------------------------------------------------------------


def _reserve_ids(cursor, table: str, n: int) -> int:
    """Take n consecutive ids from the table's identity sequence; returns the first."""
    cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = cursor.fetchone()[0]
    cursor.execute("SELECT nextval(%s)", [sequence])
    first = cursor.fetchone()[0]
    cursor.execute("SELECT setval(%s, %s)", [sequence, first + n - 1])
    return first


def _cents(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"


def build_chunk(rng, *, entries: int, cases, accounts, first_txn: int, clerk, boss, today):
    """COPY buffers for about `entries` entries: (transactions, entries, deposits,
    disbursements, entry count, transaction count)."""
    txns, rows, deposits, disbursements = io.StringIO(), io.StringIO(), io.StringIO(), io.StringIO()
    txn_id = first_txn
    made = 0
    cash, held, federal, state = (
        accounts["1000"],
        accounts["2000"],
        accounts["2100"],
        accounts["4000"],
    )
    mco, refunds = accounts["2200"], accounts["2300"]
    while made < entries:
        case_id = cases[rng.randrange(len(cases))]
        day = today - timedelta(days=rng.randrange(730))
        at = f"{day.isoformat()} 12:00:00+00"
        amount = rng.randrange(10_000, 5_000_000)  # cents: $100 to $50,000
        # The deposit: cash debit, funds-held credit.
        txns.write(
            f"{txn_id}\tdeposit\t{case_id}\t{PREFIX} deposit\t{day}\t{at}\t{clerk.pk}\t\\N\n"
        )
        rows.write(f"{txn_id}\t{cash}\t\\N\t{_cents(amount)}\n")
        rows.write(f"{txn_id}\t{held}\t{case_id}\t-{_cents(amount)}\n")
        deposits.write(
            f"{case_id}\t{_cents(amount)}\t{day}\tAcme Mutual\tcheck\tBLG{txn_id}\t"
            f"{PREFIX}-{txn_id}\t{txn_id}\t{clerk.pk}\t{at}\n"
        )
        txn_id += 1
        made += 2
        if made >= entries:
            break
        # A disbursement of part of it.
        part = amount * rng.randrange(30, 90) // 100
        kind = rng.random()
        txns.write(
            f"{txn_id}\tdisbursement\t{case_id}\t{PREFIX} disbursement\t{day}\t{at}\t{boss.pk}\t\\N\n"
        )
        rows.write(f"{txn_id}\t{held}\t{case_id}\t{_cents(part)}\n")
        if kind < 0.5:
            fed = part * 60 // 100
            rows.write(f"{txn_id}\t{state}\t{case_id}\t-{_cents(part - fed)}\n")
            rows.write(f"{txn_id}\t{federal}\t{case_id}\t-{_cents(fed)}\n")
            purpose, shares = "program_recovery", f"{_cents(part - fed)}\t{_cents(fed)}"
            made += 3
        else:
            payable = mco if kind < 0.75 else refunds
            rows.write(f"{txn_id}\t{payable}\t{case_id}\t-{_cents(part)}\n")
            purpose = "mco_share" if kind < 0.75 else "member_refund"
            shares = "\\N\t\\N"
            made += 2
        disbursements.write(
            f"{case_id}\t{_cents(part)}\tPayee\t{purpose}\t\tapproved\t{clerk.pk}\t{at}\t"
            f"{boss.pk}\t{at}\t\t{shares}\t{txn_id}\n"
        )
        txn_id += 1
    for buffer in (txns, rows, deposits, disbursements):
        buffer.seek(0)
    return txns, rows, deposits, disbursements, made, txn_id - first_txn


def copy_chunk(conn, buffers, *, replica: bool) -> None:
    txns, rows, deposits, disbursements = buffers
    with conn.cursor() as cursor:
        if replica:
            # Bulk load only: skips the per-row deferred balance trigger and FK checks.
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.copy_expert(
            "COPY ledger_transaction (id, kind, case_id, memo, posted_on, posted_at,"
            " posted_by_id, reverses_id) FROM STDIN",
            txns,
        )
        cursor.copy_expert(
            "COPY ledger_entry (transaction_id, account_id, case_id, amount) FROM STDIN", rows
        )
        cursor.copy_expert(
            "COPY ledger_deposit (case_id, amount, received_on, payer, instrument, reference,"
            " idempotency_key, transaction_id, recorded_by_id, recorded_at) FROM STDIN",
            deposits,
        )
        cursor.copy_expert(
            "COPY ledger_disbursement (case_id, amount, payee, purpose, note, status,"
            " requested_by_id, requested_at, decided_by_id, decided_at, decision_note,"
            " state_share, federal_share, transaction_id) FROM STDIN",
            disbursements,
        )
    conn.commit()  # with triggers on, the deferred balance check of every entry runs here


def load(target: int, cases, clerk, boss, *, seed: int, max_minutes: float) -> None:
    from django.utils import timezone

    from ledger.services import _accounts

    accounts = {code: account.pk for code, account in _accounts().items()}
    conn = raw_connection()
    with conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_entry")
        have = cursor.fetchone()[0]
    conn.commit()
    if have >= target:
        print(f"ledger already holds {have:,} entries (target {target:,}): not loading")
        conn.close()
        return
    rng = random.Random(seed + have)
    today = timezone.localdate()
    replica = False
    loaded = 0
    started = time.perf_counter()
    while have + loaded < target:
        want = min(CHUNK_ENTRIES, target - have - loaded)
        with conn.cursor() as cursor:
            first = _reserve_ids(cursor, "ledger_transaction", want)  # ≥ transactions needed
        *buffers, made, _count = build_chunk(
            rng,
            entries=want,
            cases=cases,
            accounts=accounts,
            first_txn=first,
            clerk=clerk,
            boss=boss,
            today=today,
        )
        chunk_started = time.perf_counter()
        copy_chunk(conn, buffers, replica=replica)
        chunk_s = time.perf_counter() - chunk_started
        loaded += made
        if loaded == made:
            rate = made / chunk_s
            projected = (target - have) / rate / 60
            print(
                f"first chunk, every trigger on (deferred balance check per entry): {made:,}"
                f" entries in {chunk_s:.1f} s = {rate:,.0f} entries/s;"
                f" the whole load would take {projected:.1f} min"
            )
            if projected > max_minutes:
                replica = True
                print(
                    f"  > {max_minutes:g} min: the remaining chunks load with"
                    " session_replication_role = replica (loader session only)"
                )
    elapsed = time.perf_counter() - started
    print(f"loaded {loaded:,} entries in {elapsed:.1f} s ({loaded / elapsed:,.0f}/s)")
    conn.close()


def derive_balances() -> None:
    """Case balance rows from the entries of account 2000 (one INSERT … SELECT)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO ledger_casebalance (case_id, held, received, disbursed, updated_at)
            SELECT e.case_id, -SUM(e.amount),
                   -SUM(e.amount) FILTER (WHERE e.amount < 0),
                   COALESCE(SUM(e.amount) FILTER (WHERE e.amount > 0), 0), now()
              FROM ledger_entry e JOIN ledger_account a ON a.id = e.account_id
             WHERE a.code = '2000' AND e.case_id IS NOT NULL
             GROUP BY e.case_id
            ON CONFLICT (case_id) DO UPDATE SET held = EXCLUDED.held,
                   received = EXCLUDED.received, disbursed = EXCLUDED.disbursed
            """
        )


def vacuum(*tables: str) -> None:
    conn = raw_connection()
    conn.autocommit = True
    with conn.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")
    conn.close()


def check_balanced() -> None:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT transaction_id FROM ledger_entry"
            " GROUP BY transaction_id HAVING SUM(amount) <> 0) unbalanced"
        )
        unbalanced = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM ledger_casebalance WHERE held < 0")
        negative = cursor.fetchone()[0]
    print(
        f"check: {unbalanced} unbalanced transactions, {negative} negative case balances"
        f" ({time.perf_counter() - started:.1f} s)"
    )
    if unbalanced or negative:
        sys.exit("the loaded ledger is inconsistent")


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


class Recorder:
    """Records every statement the ORM sends (SQL, parameters, rows RETURNING gave back)."""

    def __init__(self):
        self.statements: list[tuple[str, object, list | None]] = []

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        returned = None
        if "RETURNING" in sql:
            cursor = context["cursor"].cursor
            returned = cursor.fetchall()
            cursor.scroll(0, mode="absolute")  # hand the rows back to Django untouched
        self.statements.append((sql, params, returned))
        return result


class _Rollback(Exception):
    pass


def record(call) -> list[tuple[str, object, list | None]]:
    """The statements one call sends, from a run that is rolled back (so replaying them commits
    the same change for the first time)."""
    from django.db import connection, transaction

    recorder = Recorder()
    try:
        with connection.execute_wrapper(recorder), transaction.atomic():
            call()
            raise _Rollback
    except _Rollback:
        pass
    statements = recorder.statements
    # Our outer atomic block turned the call's own BEGIN/COMMIT into a savepoint: drop it.
    outer = next((sql for sql, _, _ in statements if sql.startswith("SAVEPOINT")), None)
    if outer:
        name = outer.split()[1]
        statements = [s for s in statements if name not in s[0]]
    return statements


def _remap(value, ids: dict):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return ids.get(value, value)
    if isinstance(value, list | tuple):
        return type(value)(_remap(item, ids) for item in value)
    return value


def replay(conn, statements) -> float:
    """Send the recorded statements through bare psycopg2 and commit; seconds taken."""
    ids: dict[int, int] = {}
    started = time.perf_counter()
    with conn.cursor() as cursor:
        for sql, params, returned in statements:
            cursor.execute(sql, _remap(params, ids) if params else params)
            if returned is not None:
                for old, new in zip(returned, cursor.fetchall(), strict=True):
                    ids[old[0]] = new[0]
    conn.commit()
    return time.perf_counter() - started


def summarize(label: str, seconds: list[float]) -> float:
    median = statistics.median(seconds)
    p95 = sorted(seconds)[int(len(seconds) * 0.95) - 1]
    print(f"{label}: median {median * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms (n={len(seconds)})")
    return median


def time_postings(
    cases, clerk, boss, runs: int, rng, *, actors=None, rich=None, purpose="mco_share"
) -> dict:
    """`actors(case_id)` gives (recorder, approver) per case; by default the bench's own."""
    from django.utils import timezone

    from ledger import services
    from ledger.models import CaseBalance, Disbursement

    today = timezone.localdate()

    def deposit_call(case_id: int, key: str):
        from cases.models import Case

        case = Case.objects.get(pk=case_id)
        recorder = actors(case_id)[0] if actors else clerk
        return lambda: services.post_deposit(
            case=case,
            amount=Decimal(f"{rng.randrange(100, 500000)}") / 100,
            received_on=today,
            payer="Acme Mutual",
            instrument="check",
            reference=key[-12:],
            idempotency_key=key,
            recorded_by=recorder,
        )

    def key() -> str:
        return f"{PREFIX}-post-{uuid.uuid4().hex}"

    for _ in range(10):  # warm-up: connections, caches
        deposit_call(rng.choice(cases), key())()
    orm = []
    for _ in range(runs):
        call = deposit_call(rng.choice(cases), key())
        started = time.perf_counter()
        call()
        orm.append(time.perf_counter() - started)
    deposit_ms = summarize("post_deposit, ORM", orm)
    conn = raw_connection()
    raw = []
    statement_count = 0
    for _ in range(runs):
        statements = record(deposit_call(rng.choice(cases), key()))
        statement_count = len(statements)
        raw.append(replay(conn, statements))
    deposit_raw = summarize(f"post_deposit, raw psycopg2 ({statement_count} statements)", raw)

    if rich is None:
        rich = list(
            CaseBalance.objects.filter(case__number__startswith=CASE_PREFIX, held__gte=1000)
            .order_by("case_id")
            .values_list("case_id", flat=True)[: runs * 3]
        )
    from cases.models import Case

    def request(case_id: int) -> Disbursement:
        return services.request_disbursement(
            case=Case.objects.get(pk=case_id),
            amount=Decimal(f"{rng.randrange(100, 1000)}") / 100,
            payee="Gulf Health Plan" if purpose == "mco_share" else "State Medicaid program",
            purpose=purpose,
            requested_by=actors(case_id)[0] if actors else clerk,
        )

    def approver(disbursement) -> object:
        return actors(disbursement.case_id)[1] if actors else boss

    for _ in range(10):
        warm = request(rng.choice(rich))
        services.approve_disbursement(disbursement=warm, approved_by=approver(warm))
    requests = [request(case_id) for case_id in rng.sample(rich, runs * 2)]
    orm = []
    for disbursement in requests[:runs]:
        who = approver(disbursement)
        started = time.perf_counter()
        services.approve_disbursement(disbursement=disbursement, approved_by=who)
        orm.append(time.perf_counter() - started)
    approve_ms = summarize("approve_disbursement, ORM", orm)
    raw = []
    for disbursement in requests[runs:]:
        statements = record(
            lambda d=disbursement: services.approve_disbursement(
                disbursement=d, approved_by=approver(d)
            )
        )
        statement_count = len(statements)
        raw.append(replay(conn, statements))
    approve_raw = summarize(
        f"approve_disbursement, raw psycopg2 ({statement_count} statements)", raw
    )
    conn.close()
    return {
        "deposit": deposit_ms,
        "deposit_raw": deposit_raw,
        "approve": approve_ms,
        "approve_raw": approve_raw,
    }


def time_trial_balance(runs: int) -> tuple[float, float]:
    from django.db import connection

    from ledger import reports

    report = reports.trial_balance()  # warm-up
    orm = []
    for _ in range(runs):
        started = time.perf_counter()
        report = reports.trial_balance()
        orm.append(time.perf_counter() - started)
    sql, params = reports.trial_balance_queryset().query.sql_with_params()
    conn = raw_connection()
    raw = []
    with conn.cursor() as cursor:
        for _ in range(runs):
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            raw.append(time.perf_counter() - started)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join("    " + row[0] for row in cursor.fetchall())
    conn.rollback()
    conn.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_entry")
        entries = cursor.fetchone()[0]
    print(f"trial balance over {entries:,} entries:")
    for row in report.rows:
        print(f"    {row.account.code} {row.debit:>18,} {row.credit:>18,} {row.balance:>18,}")
    print(
        f"    total debits {report.total_debit:,} = total credits {report.total_credit:,}:"
        f" {'balanced' if report.balanced else 'NOT BALANCED'}"
    )
    print("plan:\n" + plan)
    orm_s, raw_s = statistics.median(orm), statistics.median(raw)
    print(f"trial_balance(), ORM: median {orm_s:.3f} s (min {min(orm):.3f}, n={runs})")
    print(f"same SQL, raw psycopg2: median {raw_s:.3f} s (min {min(raw):.3f})")
    return orm_s, raw_s


def cleanup() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(LEDGER_TABLES))
        cursor.execute(
            "DELETE FROM cases_historicalactivity WHERE case_id IN"
            " (SELECT id FROM cases_case WHERE number LIKE %s)",
            [CASE_PREFIX + "%"],
        )
        cursor.execute(
            "DELETE FROM cases_activity WHERE case_id IN"
            " (SELECT id FROM cases_case WHERE number LIKE %s)",
            [CASE_PREFIX + "%"],
        )
        cursor.execute(
            "DELETE FROM core_notification WHERE key LIKE 'disbursement:%%'"
            " AND user_id IN (SELECT id FROM core_user WHERE username LIKE %s)",
            [PREFIX + "%"],
        )
        cursor.execute("DELETE FROM cases_case WHERE number LIKE %s", [CASE_PREFIX + "%"])
    print("ledger tables truncated, bench cases removed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=5_000_000, help="ledger entries")
    parser.add_argument("--cases", type=int, default=100_000, help="cases they spread over")
    parser.add_argument("--runs", type=int, default=200, help="postings timed per kind")
    parser.add_argument("--tb-runs", type=int, default=7, help="trial balance runs")
    parser.add_argument("--max-load-minutes", type=float, default=15.0)
    parser.add_argument("--reload", action="store_true", help="truncate the ledger first")
    parser.add_argument("--cleanup", action="store_true", help="truncate the ledger at the end")
    parser.add_argument("--load-only", action="store_true")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--scale",
        action="store_true",
        help="time postings on the cases of a seed_scale database and its trial balance;"
        " load and remove nothing",
    )
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("Set DATABASE_URL=postgres://.../recovery_bench")
    ensure_database(url)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if args.scale:
        return scale_run(args)
    if args.reload:
        cleanup()
    clerk, boss = bench_people()
    cases = bench_cases(args.cases, clerk)
    load(args.entries, cases, clerk, boss, seed=args.seed, max_minutes=args.max_load_minutes)
    derive_balances()
    vacuum(
        "ledger_entry",
        "ledger_transaction",
        "ledger_deposit",
        "ledger_disbursement",
        "ledger_casebalance",
        "cases_case",
    )
    check_balanced()
    if args.load_only:
        return

    rng = random.Random(args.seed)
    postings = time_postings(cases, clerk, boss, args.runs, rng)
    vacuum("ledger_entry")
    tb_s, tb_raw = time_trial_balance(args.tb_runs)

    print()
    print("summary")
    for label, key in (("post_deposit", "deposit"), ("approve_disbursement", "approve")):
        ms, raw = postings[key] * 1000, postings[f"{key}_raw"] * 1000
        verdict = "meets" if ms <= 20 else "MISSES"
        print(
            f"  {label}: {ms:.2f} ms median (target ≤ 20 ms: {verdict});"
            f" raw {raw:.2f} ms; ratio {ms / raw:.2f}"
        )
    verdict = "meets" if tb_s <= 1.0 else "MISSES"
    print(
        f"  trial balance: {tb_s:.3f} s (target ≤ 1 s: {verdict}); raw {tb_raw:.3f} s;"
        f" ratio {tb_s / tb_raw:.2f}"
    )
    if args.cleanup:
        cleanup()


def scale_run(args) -> None:
    """Postings on seeded cases (program recoveries split over their lines), then the trial
    balance over every entry of the database."""
    from cases.models import Case
    from ledger.models import CaseBalance, Entry
    from recovery.core.models import User

    rng = random.Random(args.seed)
    open_cases = (
        Case.objects.filter(
            assigned_to__role="specialist",
            status__in=["settlement", "receivable", "follow_up"],
            lien_amount__gt=100,
        )
        .select_related("assigned_to", "team")
        .order_by("?")[: args.runs * 3]
    )
    people = {case.pk: (case.assigned_to, case.team.supervisor) for case in open_cases}
    cases = list(people)
    rich_cases = (
        Case.objects.filter(
            assigned_to__role="specialist", status="receivable", balance__held__gte=1000
        )
        .select_related("assigned_to", "team")
        .order_by("?")[: args.runs * 3]
    )
    for case in rich_cases:
        people[case.pk] = (case.assigned_to, case.team.supervisor)
    rich = [case.pk for case in rich_cases]
    if len(rich) < args.runs * 2 + 10:
        sys.exit(f"only {len(rich)} receivable cases hold funds: lower --runs")
    entries = Entry.objects.count()
    print(
        f"{Case.objects.count():,} cases, {entries:,} entries,"
        f" {CaseBalance.objects.count():,} case balances; load average {os.getloadavg()[0]:.1f}"
    )
    admin = User.objects.filter(role="admin").first()
    postings = time_postings(
        cases,
        None,
        admin,
        args.runs,
        rng,
        actors=people.__getitem__,
        rich=rich,
        purpose="program_recovery",
    )
    tb_s, tb_raw = time_trial_balance(args.tb_runs)
    rows = []
    for label, key in (("post_deposit", "deposit"), ("approve_disbursement", "approve")):
        ms, raw = postings[key] * 1000, postings[f"{key}_raw"] * 1000
        rows.append(
            _common.figure(
                f"ledger posting: {label} (median)",
                ms,
                "ms",
                target=20,
                raw=raw,
                raw_label="same statements, bare psycopg2 (median)",
                detail=f"{args.runs} calls on seeded cases",
            )
        )
    rows.append(
        _common.figure(
            f"trial balance over {entries:,} entries (median)",
            tb_s,
            "s",
            target=1.0,
            raw=tb_raw,
            raw_label="same SQL, bare psycopg2 (median)",
            detail=f"{args.tb_runs} runs",
        )
    )
    _common.record("ledger", rows)


if __name__ == "__main__":
    main()
