"""seed_scale: state-scale synthetic data by COPY that the app reads like its own.

The data is loaded once for the module (on its own connection, so it is committed) and removed
afterwards; each test reads it inside its usual rolled-back transaction.
"""

import re
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cases import scale, selectors
from cases.models import Case, CaseClaim, ClaimLine, Deadline, Member
from ledger import reports
from ledger.models import CaseBalance, Entry
from liens.models import Lien
from recovery.core.models import PhiAccess, Role, User

CASES = 200


def _table_counts(cursor) -> dict[str, int]:
    counts = {}
    for table in connection.introspection.table_names(cursor):
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
    return counts


def _schema(cursor) -> tuple[set, set, set]:
    # By name: a recreated partial index prints its predicate differently, meaning the same.
    cursor.execute("SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public'")
    indexes = set(cursor.fetchall())
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE connamespace = 'public'::regnamespace"
    )
    constraints = set(cursor.fetchall())
    cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    triggers = {row[0] for row in cursor.fetchall()}
    return indexes, constraints, triggers


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            before = _table_counts(cursor)
            schema = _schema(cursor)
        try:
            counts = scale.seed_scale(cases=CASES, seed=7, chunk=64, workers=0, log=print)
            yield {"counts": counts, "schema_before": schema}
        finally:
            _remove_added_rows(before)


def _remove_added_rows(before: dict[str, int]) -> None:
    with connection.cursor() as cursor:
        after = _table_counts(cursor)
        added = [table for table, rows in after.items() if rows and not before.get(table)]
        if added:
            cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in added) + " CASCADE")


pytestmark = pytest.mark.django_db


def _supervisor() -> User:
    return User.objects.get(username="scale-sup-01")


def _specialist() -> User:
    return User.objects.filter(role=Role.SPECIALIST, username__startswith="scale-spec-").first()


def test_rows_of_every_kind_are_loaded(seeded):
    counts = seeded["counts"]
    assert Case.objects.count() == counts["cases_case"] == CASES
    assert Member.objects.count() == CASES
    assert 15 * CASES <= ClaimLine.objects.count() <= 30 * CASES
    assert CaseClaim.objects.count() == counts["cases_caseclaim"] > 10 * CASES
    assert 0.6 * CASES <= Deadline.objects.filter(done_at__isnull=True).count() <= 1.5 * CASES
    assert Entry.objects.count() == counts["ledger_entry"] > CASES
    assert Lien.objects.exists() and CaseBalance.objects.exists()
    staff = User.objects.filter(username__startswith="scale-")
    assert 290 <= staff.count() <= 310
    assert set(staff.values_list("role", flat=True)) == {
        Role.ADMIN,
        Role.AUDITOR,
        Role.SUPERVISOR,
        Role.SPECIALIST,
    }
    assert Case.objects.values("status").distinct().count() >= 6
    assert Case.objects.values("jurisdiction").distinct().count() == 8


def test_indexes_constraints_and_triggers_are_back(seeded):
    with connection.cursor() as cursor:
        assert _schema(cursor) == seeded["schema_before"]


def test_claim_lines_carry_real_codes_and_screening(seeded):
    lines = ClaimLine.objects.all()
    assert lines.filter(diagnosis_codes__regex=r"^S\d").exists()
    assert lines.filter(procedure_code__in=["99213", "99214", "97110", "A0429"]).exists()
    hits = lines.filter(screening_decision="include")
    assert hits.exists() and lines.filter(screening_decision="no_hit").exists()
    assert all(re.match(r"^[STVWXY]", line.diagnosis_codes) for line in hits[:50])


def test_totals_follow_the_rows(seeded):
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM cases_case c WHERE c.lien_amount <> COALESCE(
                 (SELECT sum(l.paid_amount) FROM cases_caseclaim cc
                    JOIN cases_claimline l ON l.id = cc.claim_line_id
                   WHERE cc.case_id = c.id AND cc.included), 0)"""
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            """SELECT count(*) FROM liens_lien l WHERE l.amount <> COALESCE(
                 (SELECT sum(paid_amount) FROM liens_lienfilingline f WHERE f.lien_id = l.id), 0)"""
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            """SELECT count(*) FROM ledger_casebalance b WHERE b.held <> -(
                 SELECT sum(e.amount) FROM ledger_entry e JOIN ledger_account a
                     ON a.id = e.account_id WHERE a.code = '2000' AND e.case_id = b.case_id)
                OR b.received <> (SELECT sum(amount) FROM ledger_deposit d
                                   WHERE d.case_id = b.case_id)"""
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT count(*) FROM (SELECT transaction_id FROM ledger_entry GROUP BY 1"
            " HAVING sum(amount) <> 0) unbalanced"
        )
        assert cursor.fetchone()[0] == 0
    assert not CaseBalance.objects.filter(held__lt=0).exists()
    assert reports.trial_balance().balanced


def test_the_ledger_guards_still_refuse_changes(seeded):
    from django.db import DatabaseError, transaction

    entry = Entry.objects.first()
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        Entry.objects.filter(pk=entry.pk).update(amount=entry.amount + 1)


def test_phi_decrypts_and_the_program_id_finds_the_member(seeded):
    member = Member.objects.order_by("?").first()
    assert re.fullmatch(r"M\d{10}", member.program_id)
    assert member.dob is not None and member.dob < timezone.localdate()
    case = member.cases.get()
    found = selectors.case_list(user=_supervisor(), search=member.program_id)
    assert list(found) == [case]
    assert list(selectors.case_list(user=_supervisor(), search=case.number)) == [case]
    assert member in list(selectors.member_search(member.program_id))


def test_case_numbers_continue_in_the_app_sequence(seeded):
    from cases.services import next_case_number

    year = timezone.localdate().year
    used = [
        int(number.rsplit("-", 1)[1])
        for number in Case.objects.filter(number__startswith=f"TPL-{year}-").values_list(
            "number", flat=True
        )
    ]
    assert next_case_number(year) == f"TPL-{year}-{max(used, default=0) + 1:06d}"


def test_the_lists_and_pages_work_on_the_data(seeded, client):
    specialist, supervisor = _specialist(), _supervisor()
    visible = selectors.cases_visible_to(specialist)
    assert 0 < visible.count() < Case.objects.count()
    for user in (specialist, supervisor):
        client.force_login(user)
        response = client.get(reverse("cases:list"), {"sort": "-lien"})
        assert response.status_code == 200
        rows = response.context["rows"]
        assert rows and rows == sorted(rows, key=lambda c: c.lien_amount, reverse=True)
        case = visible.filter(lien_amount__gt=0).order_by("-lien_amount").first()
        for name in ("cases:detail", "cases:claims", "cases:parties", "cases:tasks"):
            assert client.get(reverse(name, args=[case.pk])).status_code == 200
        for name in ("liens:case-lien", "settlements:case", "ledger:case"):
            assert client.get(reverse(name, args=[case.pk])).status_code == 200
    assert PhiAccess.objects.filter(user=supervisor).exists()


def test_a_chunk_is_the_same_for_the_same_seed():
    ref = scale.Reference(
        seed=3,
        today=date(2026, 6, 1),
        now=scale.timezone.now(),
        chunk=4,
        first_index=0,
        bases=dict.fromkeys(scale.TABLES, 1),
        jurisdictions={
            code: (n, 30, "procurement_cost") for n, code in enumerate(scale.demo.STATES)
        },
        sol_years={},
        teams=(scale.TeamRef(1, 2, (3, 4)),),
        team_of_state=dict.fromkeys(scale.demo.STATES, (0,)),
        supervisors=(2,),
        admin=9,
        firms={"FL": ((5, "A & B, P.A."),)},
        insurers=dict.fromkeys(
            ("auto", "premises", "malpractice", "workers_comp"), ((6, "X Co."),)
        ),
        health_plans=((7, "Plan"),),
        courts={},
        employers={"FL": ((8, "E LLC"),)},
        accounts={
            code: n for n, code in enumerate(("1000", "2000", "2100", "2200", "2300", "4000"))
        },
    )
    first, rows = scale.generate_chunk(ref, 0, range(4), {})
    again, _ = scale.generate_chunk(ref, 0, range(4), {})
    # Ciphertexts differ (a fresh IV each time); every clear column is the same.
    for table in ("cases_case", "cases_claimline", "cases_caseclaim", "ledger_entry"):
        assert first[table] == again[table]
    assert rows["cases_case"] == 4


def test_it_refuses_a_database_with_other_cases(seeded):
    with pytest.raises(CommandError, match="already holds 200 cases from seed_scale"):
        call_command("seed_scale", "--cases", "5")
    User.objects.filter(username=scale.MARKER_USERNAME).update(username="someone-else")
    with pytest.raises(CommandError, match="seed_scale did not make"):
        call_command("seed_scale", "--cases", "5")
