"""The demo seed: synthetic, idempotent, and each demo attorney only on their own firm's cases."""

import re

import pytest
from django.db.models import Q, Sum

from cases.demo import ALL_ICD10_CODES, seed_cases
from cases.models import Case, CaseClaim, CaseParty, ClaimLine, Lead, Member
from cases.screening import validate_icd10
from cases.selectors import cases_visible_to
from recovery.core.models import Role, Team
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_users():
    east = Team.objects.create(name="Casualty East")
    west = Team.objects.create(name="Casualty West")
    users = {
        "supervisor": make_user("supervisor", Role.SUPERVISOR, east),
        "supervisor2": make_user("supervisor2", Role.SUPERVISOR, west),
        "specialist": make_user("specialist", Role.SPECIALIST, east),
        "specialist2": make_user("specialist2", Role.SPECIALIST, west),
        "attorney": make_user("attorney", Role.ATTORNEY),
        "attorney2": make_user("attorney2", Role.ATTORNEY),
        "auditor": make_user("auditor", Role.AUDITOR),
        "admin": make_user("admin", Role.ADMIN),
    }
    east.supervisor = users["supervisor"]
    east.save()
    west.supervisor = users["supervisor2"]
    west.save()
    return users


@pytest.fixture
def seeded(demo_users):
    first = seed_cases(users=demo_users, count=30)
    return demo_users, first


def _attorney_of_record_cases(firm) -> set[int]:
    links = CaseParty.objects.filter(role=CaseParty.Role.ATTORNEY_OF_RECORD)
    return set(links.filter(Q(party=firm) | Q(party__firm=firm)).values_list("case_id", flat=True))


def test_a_second_run_adds_nothing(seeded):
    users, first = seeded
    assert first["cases"] == 30
    assert first["members"] >= 30 + 3  # case members and screening-lead members
    assert first["claim_lines"] >= 30 * 6
    assert first["leads"] >= 3
    assert first["activities"] > 0 and first["deadlines"] > 0 and first["case_parties"] > 0

    second = seed_cases(users=users, count=30)

    assert all(added == 0 for added in second.values()), second
    assert Case.objects.count() == 30


def test_a_larger_count_only_adds_the_new_cases(seeded):
    users, _ = seeded
    numbers = set(Case.objects.values_list("number", flat=True))

    added = seed_cases(users=users, count=33)

    assert added["cases"] == 3
    assert numbers < set(Case.objects.values_list("number", flat=True))


def test_each_demo_attorney_is_of_record_only_on_their_own_cases(seeded):
    users, _ = seeded
    attorney, attorney2 = users["attorney"], users["attorney2"]
    attorney.refresh_from_db()
    attorney2.refresh_from_db()
    assert attorney.party and attorney2.party and attorney.party != attorney2.party

    mine = _attorney_of_record_cases(attorney.party)
    theirs = _attorney_of_record_cases(attorney2.party)

    assert mine and theirs
    assert not mine & theirs
    assert set(cases_visible_to(attorney).values_list("pk", flat=True)) == mine
    assert set(cases_visible_to(attorney2).values_list("pk", flat=True)) == theirs


def test_every_diagnosis_code_is_a_real_icd10_cm_code(seeded):
    used = {
        code
        for codes in ClaimLine.objects.values_list("diagnosis_codes", flat=True)
        for code in codes.split()
    }
    assert used
    assert [code for code in used if not validate_icd10(code)] == []
    assert [code for code in ALL_ICD10_CODES if not validate_icd10(code)] == []


def test_lien_amounts_are_the_sum_of_included_lines(seeded):
    mixed = 0
    for case in Case.objects.all():
        included = case.case_claims.filter(included=True)
        total = included.aggregate(total=Sum("claim_line__paid_amount"))["total"] or 0
        assert case.lien_amount == total, case.number
        if included.exists() and case.case_claims.filter(included=False).exists():
            mixed += 1
    assert mixed >= 1
    for decision in CaseClaim.objects.filter(basis=CaseClaim.Basis.MANUAL):
        assert decision.reason and decision.decided_by_id


def test_the_data_is_synthetic_and_every_case_change_names_its_user(seeded):
    for member in Member.objects.all():
        assert re.fullmatch(r"M\d{9}", member.program_id)
        assert member.ssn == "" or member.ssn.startswith("9")
        assert re.fullmatch(r"\(\d{3}\) 555-01\d\d", member.phone)
    assert not Case.history.filter(history_user__isnull=True).exists()
    assert Case.objects.filter(assigned_to__isnull=True).exists()  # the team queues
    assert Lead.objects.filter(case__isnull=True).exists()
