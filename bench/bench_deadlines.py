"""Daily deadline scan over N open deadlines (DESIGN §7: 1,000,000 in ≤ 30 s, set-based SQL).

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/recovery_bench \\
        .venv/bin/python bench/bench_deadlines.py --n 1000000

Creates the scratch database if it is missing and migrates it. Its own rows are marked: users
and teams named `bench-dl-*`, one member, cases numbered `BDL-*`; each run replaces the bench
deadlines (bulk COPY), removes the reminders and notifications the bench made, and deletes its
deadlines and cases at the end unless `--keep` (the few users, teams and the member stay). Other rows in the database are left alone (the scan does see other open deadlines; the count
printed is what it scanned).

Measured, on the same data:
1. `scan_deadlines` on the first day (every due reminder is new);
2. the same scan again (steady state: nothing new — what every later run mostly is);
3. the raw limit: the same statements sent bare through psycopg2 after resetting;
4. `scan_deadlines` again after the same reset, and its ratio to (3).
"""

import argparse
import io
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import _common  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recovery.settings")

PREFIX = "bench-dl"
CASE_PREFIX = "BDL-"


def ensure_database(url: str) -> None:
    import dj_database_url
    import psycopg2
    from psycopg2 import errors, sql

    config = dj_database_url.parse(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("The deadline bench needs PostgreSQL (DATABASE_URL=postgres://...).")
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
                pass  # another bench created it meanwhile
    admin.close()


def bench_people(teams: int, users: int):
    """Supervisors, teams and specialists for the bench (reused between runs)."""
    from recovery.core.models import Role, Team, User

    supervisors, team_rows = [], []
    for t in range(teams):
        boss, _ = User.objects.get_or_create(
            username=f"{PREFIX}-sup-{t}",
            defaults={"role": Role.SUPERVISOR, "email": f"{PREFIX}-sup-{t}@example.org"},
        )
        team, _ = Team.objects.get_or_create(name=f"{PREFIX}-team-{t}")
        if team.supervisor_id != boss.pk or boss.team_id != team.pk:
            team.supervisor = boss
            team.save()
            boss.team = team
            boss.save()
        supervisors.append(boss)
        team_rows.append(team)
    specialists = list(User.objects.filter(username__startswith=f"{PREFIX}-user-").order_by("pk"))
    missing = [
        User(
            username=f"{PREFIX}-user-{i:04d}",
            role=Role.SPECIALIST,
            team=team_rows[i % teams],
            email=f"{PREFIX}-user-{i:04d}@example.org",
            password="!",
        )
        for i in range(len(specialists), users)
    ]
    User.objects.bulk_create(missing)
    return list(User.objects.filter(username__startswith=f"{PREFIX}-user-").order_by("pk"))[:users]


def bench_cases(count: int, specialists) -> list[tuple[int, int]]:
    """(case id, assignee id) for `count` bench cases, created by COPY when missing."""
    from django.db import connection
    from django.utils import timezone

    from cases.models import Case, Jurisdiction, Member

    member = Member.objects.filter(last_name=PREFIX).first()
    if member is None:
        member = Member(program_id="BENCHDL00000001", first_name="Bench", last_name=PREFIX)
        member.save()
    florida = Jurisdiction.objects.get_or_create(code="FL", defaults={"name": "Florida"})[0]
    have = Case.objects.filter(number__startswith=CASE_PREFIX).count()
    if have < count:
        now = timezone.now().isoformat()
        buffer = io.StringIO()
        for i in range(have, count):
            owner = specialists[i % len(specialists)]
            buffer.write(
                f"{CASE_PREFIX}{i:09d}\t{member.pk}\t2025-01-15\tauto\t\t{florida.pk}\tscreening\t"
                f"research\t2\t{owner.team_id}\t{owner.pk}\t\t0.00\t{now}\n"
            )
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(
                "COPY cases_case (number, member_id, incident_date, incident_kind,"
                " incident_description, jurisdiction_id, source, status, priority, team_id,"
                " assigned_to_id, outcome, lien_amount, opened_at) FROM STDIN",
                buffer,
            )
    return list(
        Case.objects.filter(number__startswith=CASE_PREFIX)
        .order_by("pk")
        .values_list("pk", "assigned_to_id")[:count]
    )


def reset(cursor, since=None) -> None:
    """Remove the reminders (and their notifications) of bench deadlines, or made since `since`."""
    if since is None:
        cursor.execute(
            """DELETE FROM core_notification n USING cases_reminder r, cases_deadline d,
                      cases_case c
                WHERE n.key IN ('reminder:' || r.id, 'reminder:' || r.id || ':escalation')
                  AND r.deadline_id = d.id AND d.case_id = c.id AND c.number LIKE %s""",
            [CASE_PREFIX + "%"],
        )
        cursor.execute(
            """DELETE FROM cases_reminder r USING cases_deadline d, cases_case c
                WHERE r.deadline_id = d.id AND d.case_id = c.id AND c.number LIKE %s""",
            [CASE_PREFIX + "%"],
        )
    else:
        cursor.execute(
            "DELETE FROM core_notification WHERE key LIKE 'reminder:%%' AND created_at >= %s",
            [since],
        )
        cursor.execute("DELETE FROM cases_reminder WHERE created_at >= %s", [since])


def load_deadlines(n: int, cases, *, today, before: int, after: int, seed: int) -> None:
    from django.db import connection
    from django.utils import timezone

    rng = random.Random(seed)
    now = timezone.now().isoformat()
    with connection.cursor() as cursor:
        reset(cursor)
        cursor.execute(
            """DELETE FROM cases_deadline d USING cases_case c
                WHERE d.case_id = c.id AND c.number LIKE %s""",
            [CASE_PREFIX + "%"],
        )
    started = time.perf_counter()
    chunk = 200_000
    for start in range(0, n, chunk):
        buffer = io.StringIO()
        for i in range(start, min(n, start + chunk)):
            case_id, assignee = cases[i % len(cases)]
            due = today + timedelta(days=rng.randint(-before, after))
            owner = "\\N" if i % 50 == 0 else assignee  # a few unowned: the assignee is reminded
            buffer.write(f"{case_id}\tfollow_up\tFollow up #{i}\t{due}\t{owner}\t{now}\n")
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(
                "COPY cases_deadline (case_id, kind, title, due_date, owner_id, created_at)"
                " FROM STDIN",
                buffer,
            )
    print(f"COPY {n:,} deadlines: {time.perf_counter() - started:.1f} s")


def vacuum(*tables: str) -> None:
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    previous = raw.autocommit
    raw.autocommit = True
    with raw.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")
    raw.autocommit = previous


def open_deadlines_scanned(today, horizon_days: int) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM cases_deadline WHERE done_at IS NULL AND due_date <= %s",
            [today + timedelta(days=horizon_days)],
        )
        return cursor.fetchone()[0]


def raw_scan(today, now, bands) -> tuple[float, float, int, int]:
    """The scan's statements, bare through psycopg2: (seconds, insert-only seconds, rows...)."""
    import psycopg2
    from django.db import connection

    from cases import reminders

    settings = connection.settings_dict
    conn = psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
    )
    insert_sql, insert_params = reminders.reminder_insert_sql(today=today, now=now, bands=bands)
    notify_sql, notify_params = reminders.notification_insert_sql(today=today, now=now)
    table = reminders.NEW_TABLE
    started = time.perf_counter()
    with conn, conn.cursor() as cursor:
        for statement in reminders.scan_setup_sql():
            cursor.execute(statement)
        cursor.execute(insert_sql, insert_params)
        inserted = cursor.rowcount
        insert_only = time.perf_counter() - started
        cursor.execute(f"ANALYZE {table}")
        cursor.execute(notify_sql, notify_params)
        notified = cursor.rowcount
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, insert_only, inserted, notified


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="open deadlines")
    parser.add_argument("--cases", type=int, default=10_000, help="cases they belong to")
    parser.add_argument("--users", type=int, default=300, help="specialists owning them")
    parser.add_argument("--teams", type=int, default=10, help="teams (one supervisor each)")
    parser.add_argument("--overdue-days", type=int, default=30, help="due dates from today-D")
    parser.add_argument("--ahead-days", type=int, default=335, help="... to today+D")
    parser.add_argument("--digests", action="store_true", help="also time send_digests")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the bench deadlines afterwards")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="scan the open deadlines already in a seed_scale database; load none",
    )
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("Set DATABASE_URL=postgres://.../recovery_bench")
    ensure_database(url)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from cases import reminders

    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    bands = reminders.thresholds()

    if not args.scale:
        specialists = bench_people(args.teams, args.users)
        cases = bench_cases(args.cases, specialists)
        load_deadlines(
            args.n,
            cases,
            today=today,
            before=args.overdue_days,
            after=args.ahead_days,
            seed=args.seed,
        )
    vacuum("cases_deadline", "cases_case", "core_user", "cases_reminder", "core_notification")
    scanned = open_deadlines_scanned(today, bands[0])
    total_open = open_deadlines_scanned(today, 100_000)
    print(
        f"open deadlines: {total_open:,} (bench {args.n:,}); within {bands[0]} days or overdue:"
        f" {scanned:,}; thresholds {bands}"
    )

    since = timezone.now()
    started = time.perf_counter()
    first = reminders.scan_deadlines(today=today)
    first_s = time.perf_counter() - started
    print(
        f"scan_deadlines, first day: {first_s:.2f} s — {total_open / first_s:,.0f} open deadlines/s;"
        f" {first['reminders']:,} reminders ({first['overdue']:,} overdue,"
        f" {first['by_threshold']}), {first['notifications']:,} notifications"
    )
    started = time.perf_counter()
    second = reminders.scan_deadlines(today=today)
    second_s = time.perf_counter() - started
    print(
        f"scan_deadlines, again (nothing new): {second_s:.2f} s —"
        f" {total_open / second_s:,.0f} open deadlines/s; {second['reminders']} reminders"
    )

    if args.digests:
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        started = time.perf_counter()
        sent = reminders.send_digests()
        print(f"send_digests: {sent:,} e-mails in {time.perf_counter() - started:.2f} s")

    with connection.cursor() as cursor:
        reset(cursor, since=since)
    vacuum("cases_reminder", "core_notification")
    raw_s, insert_s, inserted, notified = raw_scan(today, timezone.now(), bands)
    print(
        f"raw psycopg2, same statements: {raw_s:.2f} s (reminder INSERT…SELECT alone"
        f" {insert_s:.2f} s); {inserted:,} reminders, {notified:,} notifications"
    )
    # The same conditions as the raw run (fresh reset, vacuumed), through the function again.
    with connection.cursor() as cursor:
        reset(cursor, since=since)
    vacuum("cases_reminder", "core_notification")
    started = time.perf_counter()
    reminders.scan_deadlines(today=today)
    warm_s = time.perf_counter() - started
    print(f"scan_deadlines after the same reset: {warm_s:.2f} s")
    print(
        f"ratio scan_deadlines / raw: {warm_s / raw_s:.2f} (first-day run: {first_s / raw_s:.2f})"
    )
    target = 30.0 * total_open / 1_000_000
    verdict = "meets" if max(first_s, warm_s) <= target else "MISSES"
    print(f"target ≤ {target:.1f} s for {total_open:,} open deadlines: {verdict}")
    _common.record(
        "deadlines",
        [
            _common.figure(
                f"daily deadline scan, first day ({total_open:,} open deadlines)",
                max(first_s, warm_s),
                "s",
                target=round(target, 1),
                raw=raw_s,
                raw_label="same statements, bare psycopg2",
                detail=f"first day {first_s:.2f} s, after reset {warm_s:.2f} s, again"
                f" (nothing new) {second_s:.2f} s; {first['reminders']:,} reminders; target"
                " 30 s per 1,000,000 open deadlines",
            )
        ],
    )
    with connection.cursor() as cursor:
        reset(cursor, since=since)
        if not args.keep and not args.scale:  # leave the scratch database as we found it
            cursor.execute(
                """DELETE FROM cases_deadline d USING cases_case c
                    WHERE d.case_id = c.id AND c.number LIKE %s""",
                [CASE_PREFIX + "%"],
            )
            cursor.execute("DELETE FROM cases_case WHERE number LIKE %s", [CASE_PREFIX + "%"])


if __name__ == "__main__":
    main()
