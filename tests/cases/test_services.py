from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cases import services
from cases.models import Assignment, Case, CaseClaim, Deadline, Lead, SolRule
from recovery.core.exceptions import Conflict
from tests import factories

pytestmark = pytest.mark.django_db


def test_case_numbers_run_per_year_without_gaps(specialist):
    first = factories.open_case(specialist, incident_date=date(2025, 1, 5))
    second = factories.open_case(specialist, incident_date=date(2025, 9, 9))
    other_year = factories.open_case(specialist, incident_date=date(2024, 2, 2))
    assert first.number == "TPL-2025-000001"
    assert second.number == "TPL-2025-000002"
    assert other_year.number == "TPL-2024-000001"


def test_a_specialists_intake_is_assigned_to_them_with_a_sol_deadline(specialist):
    case = factories.open_case(specialist, incident_date=date(2025, 3, 1))
    assert case.assigned_to == specialist
    assert case.team == specialist.team
    assert case.sol_date == date(2027, 3, 1)  # Florida: 2 years
    assert case.deadlines.get(kind=Deadline.Kind.SOL).due_date == date(2027, 3, 1)
    assert Assignment.objects.get(case=case).action == Assignment.Action.SELF_ASSIGN


def test_sol_rule_per_incident_kind_wins_over_the_state_default(specialist):
    SolRule.objects.create(
        jurisdiction=factories.jurisdiction("FL"), incident_kind="malpractice", years=4
    )
    case = factories.open_case(
        specialist, incident_date=date(2024, 2, 29), incident_kind="malpractice"
    )
    assert case.sol_date == date(2028, 2, 29)
    leap = services.suggest_sol_date(
        jurisdiction=factories.jurisdiction("NY"),
        incident_kind="auto",
        incident_date=date(2024, 2, 29),
    )
    assert leap == date(2027, 2, 28)


def test_possible_duplicate_stops_intake_until_confirmed(specialist):
    person = factories.member()
    factories.open_case(specialist, person, incident_date=date(2025, 3, 1))
    with pytest.raises(ValidationError) as error:
        factories.open_case(specialist, person, incident_date=date(2025, 3, 25))
    assert "acknowledge_duplicates" in error.value.message_dict
    assert Case.objects.count() == 1
    factories.open_case(
        specialist, person, incident_date=date(2025, 3, 25), acknowledge_duplicates=True
    )
    assert Case.objects.count() == 2
    # 31 days apart is not a duplicate.
    factories.open_case(specialist, person, incident_date=date(2025, 5, 1))


def test_intake_warns_when_the_member_was_not_eligible_on_the_date_of_injury():
    person = factories.member(eligible_from=date(2025, 6, 1))
    assert services.intake_checks(member=person, incident_date=date(2025, 3, 1)).not_eligible
    assert not services.intake_checks(member=person, incident_date=date(2025, 6, 1)).not_eligible


def test_future_incident_dates_are_refused(specialist):
    with pytest.raises(ValidationError) as error:
        factories.open_case(specialist, incident_date=date(2099, 1, 1))
    assert "incident_date" in error.value.message_dict


def test_opening_a_case_screens_the_members_lines_and_sums_the_lien(specialist):
    person = factories.member()
    factories.claim_line(person, service_from=date(2025, 2, 1), paid="999.00")  # before incident
    factories.claim_line(person, service_from=date(2025, 3, 1), paid="1200.50")  # injury, initial
    factories.claim_line(person, service_from=date(2025, 3, 20), paid="75.25", codes="S8290XD")
    factories.claim_line(person, service_from=date(2025, 4, 1), paid="60.00", codes="I10")
    factories.claim_line(person, service_from=date(2025, 4, 2), paid="40.00", codes="T8141XA")
    case = factories.open_case(specialist, person, incident_date=date(2025, 3, 1))
    claims = {cc.claim_line.paid_amount: cc for cc in case.case_claims.select_related("claim_line")}
    assert Decimal("999.00") not in claims  # lines before the incident are not pulled
    assert claims[Decimal("1200.50")].included
    assert claims[Decimal("75.25")].included
    assert not claims[Decimal("60.00")].included
    assert claims[Decimal("40.00")].needs_review and not claims[Decimal("40.00")].included
    case.refresh_from_db()
    assert case.lien_amount == Decimal("1275.75")


def test_manual_decisions_need_a_reason_and_move_the_lien(specialist):
    person = factories.member()
    factories.claim_line(person, service_from=date(2025, 3, 1), paid="100.10")
    factories.claim_line(person, service_from=date(2025, 3, 2), paid="200.20")
    case = factories.open_case(specialist, person, incident_date=date(2025, 3, 1))
    line = case.case_claims.get(claim_line__paid_amount=Decimal("200.20"))
    with pytest.raises(ValidationError):
        services.decide_claim(case_claim=line, included=False, reason="  ", decided_by=specialist)
    services.decide_claim(
        case_claim=line, included=False, reason="Routine visit, unrelated", decided_by=specialist
    )
    case.refresh_from_db()
    assert case.lien_amount == Decimal("100.10")
    line.refresh_from_db()
    assert line.basis == CaseClaim.Basis.MANUAL and line.decided_by == specialist
    assert (
        line.history.first().history_user is None
        or line.history.first().reason == "Routine visit, unrelated"
    )


def test_only_the_assigned_specialist_or_a_supervisor_edits(
    specialist, specialist2, supervisor, auditor
):
    person = factories.member()
    factories.claim_line(person, service_from=date(2025, 3, 1))
    case = factories.open_case(specialist, person)
    line = case.case_claims.get()
    for outsider in (specialist2, auditor):
        with pytest.raises(PermissionDenied):
            services.decide_claim(case_claim=line, included=False, reason="x", decided_by=outsider)
    services.decide_claim(
        case_claim=line, included=False, reason="Supervisor review", decided_by=supervisor
    )


def test_status_machine_guards_transitions_and_closing_needs_an_outcome(specialist):
    case = factories.open_case(specialist)
    with pytest.raises(Conflict):
        services.change_status(case=case, status=Case.Status.SETTLEMENT, changed_by=specialist)
    with pytest.raises(ValidationError):
        services.change_status(case=case, status=Case.Status.CLOSED, changed_by=specialist)
    case = services.change_status(
        case=case, status=Case.Status.CLOSED, changed_by=specialist, outcome="no_liability"
    )
    assert case.closed_at and case.outcome == "no_liability"
    case = services.change_status(case=case, status=Case.Status.RESEARCH, changed_by=specialist)
    assert case.outcome == "" and case.closed_at is None
    assert [h.status for h in case.history.all()[:3]] == ["research", "closed", "new"]


def test_queue_take_and_return_with_a_required_note(specialist, specialist2, supervisor):
    case = factories.open_case(supervisor)
    assert case.assigned_to is None
    with pytest.raises(PermissionDenied):
        services.take_case(case=case, user=specialist2)  # another team's queue
    services.take_case(case=case, user=specialist)
    with pytest.raises(Conflict):
        services.take_case(case=case, user=specialist)
    with pytest.raises(ValidationError):
        services.return_case(case=case, user=specialist, note="")
    services.return_case(case=case, user=specialist, note="Conflict of interest")
    actions = list(case.assignments.order_by("at", "id").values_list("action", "note"))
    assert actions == [("self_assign", ""), ("return", "Conflict of interest")]


def test_supervisor_reassigns_and_deadlines_follow(
    specialist, supervisor, supervisor2, specialist2
):
    case = factories.open_case(specialist)
    with pytest.raises(PermissionDenied):
        services.assign_case(case=case, assignee=specialist2, assigned_by=specialist)
    services.assign_case(case=case, assignee=specialist2, assigned_by=supervisor, note="Workload")
    case.refresh_from_db()
    assert case.assigned_to == specialist2 and case.team == specialist2.team
    assert set(case.deadlines.values_list("owner", flat=True)) == {specialist2.pk}


def test_ask_my_supervisor_and_the_answer_is_logged(specialist, supervisor):
    case = factories.open_case(specialist)
    question = services.ask_supervisor(
        case=case, asked_by=specialist, question="Accept 80% of the lien?"
    )
    assert question.supervisor == supervisor
    assert supervisor.notifications.count() == 1
    with pytest.raises(PermissionDenied):
        services.answer_question(question=question, answered_by=specialist, answer="yes")
    services.answer_question(
        question=question, answered_by=supervisor, answer="Yes, document the hardship."
    )
    assert case.activities.filter(subject__startswith="Supervisor answer").exists()
    assert specialist.notifications.count() == 1
    with pytest.raises(Conflict):
        services.answer_question(question=question, answered_by=supervisor, answer="again")


def test_opening_a_case_converts_the_members_lead(specialist):
    person = factories.member()
    lead = Lead.objects.create(
        member=person, first_service=date(2025, 3, 2), hit_lines=1, hit_paid=Decimal("10.00")
    )
    case = factories.open_case(specialist, person)
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED and lead.case == case


def test_activity_with_follow_up_creates_a_deadline(specialist):
    case = factories.open_case(specialist)
    firm = factories.law_firm()
    factories.attorney_of_record(case, firm, specialist)
    services.log_activity(
        case=case,
        logged_by=specialist,
        kind="call",
        subject="Asked for police report",
        party=firm,
        outcome="Will send",
        follow_up_on=date(2026, 12, 1),
    )
    assert case.deadlines.filter(kind=Deadline.Kind.FOLLOW_UP, due_date=date(2026, 12, 1)).exists()
    other = factories.law_firm("Unrelated LLP")
    with pytest.raises(ValidationError):
        services.log_activity(
            case=case, logged_by=specialist, kind="call", subject="x", party=other
        )


def test_save_member_refuses_a_known_program_id_and_a_future_birth_date(specialist, auditor):
    first = services.save_member(
        member=None, saved_by=specialist, program_id="M123 456 789", first_name="A", last_name="B"
    )
    assert first.program_id == "M123 456 789"
    with pytest.raises(ValidationError) as error:
        services.save_member(
            member=None, saved_by=specialist, program_id="m123456789", first_name="C", last_name="D"
        )
    assert "program_id" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.save_member(member=first, saved_by=specialist, dob=date(2999, 1, 1))
    assert "date_of_birth" in error.value.message_dict
    services.save_member(
        member=first, saved_by=specialist, program_id="M123456789", last_name="Bee"
    )
    with pytest.raises(PermissionDenied):
        services.save_member(
            member=None, saved_by=auditor, program_id="M9", first_name="E", last_name="F"
        )
