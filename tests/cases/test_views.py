"""The case screens through Django's test client, on PostgreSQL, with data built by services."""

import io
import itertools
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.models import (
    Case,
    CaseClaim,
    ClaimLine,
    Deadline,
    Document,
    EligibilitySpan,
    Jurisdiction,
    Member,
    Party,
    SolRule,
    SupervisorQuestion,
)
from cases.views import my_work_context
from recovery.core.models import PhiAccess, Role
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
INJURY = TODAY - timedelta(days=200)
_numbers = itertools.count(1)


# ---------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------


def jurisdiction(code: str = "FL", name: str = "Florida", years: int = 4) -> Jurisdiction:
    found, _ = Jurisdiction.objects.get_or_create(
        code=code, defaults={"name": name, "default_sol_years": years}
    )
    return found


def member(
    last: str = "Lopez",
    first: str = "Maria",
    program_id: str | None = None,
    eligible_from: date | None = date(2020, 1, 1),
    eligible_to: date | None = None,
) -> Member:
    person = Member.objects.create(
        program_id=program_id or f"MC{next(_numbers):07d}",
        first_name=first,
        last_name=last,
        date_of_birth=date(1984, 5, 17),
        state="FL",
    )
    if eligible_from:
        EligibilitySpan.objects.create(member=person, start=eligible_from, end=eligible_to)
    return person


def claim_line(
    person: Member,
    *,
    paid: str = "100.00",
    days_after: int = 1,
    dx: str = "S8290XA V4352XA",
    procedure: str = "99284",
) -> ClaimLine:
    return ClaimLine.objects.create(
        member=person,
        claim_number=f"C{next(_numbers):09d}",
        line_number=1,
        provider_npi="1234567893",
        provider_name="Bayfront General Hospital",
        service_from=INJURY + timedelta(days=days_after),
        procedure_code=procedure,
        diagnosis_codes=dx,
        code_set="ICD10",
        billed_amount=Decimal(paid) * 2,
        paid_amount=Decimal(paid),
        paid_date=INJURY + timedelta(days=days_after + 20),
    )


def new_case(user, person: Member | None = None, *, lines: int = 0, **extra) -> Case:
    person = person or member()
    for index in range(lines):
        # Mostly trauma lines; every third an unrelated chronic-care visit.
        dx = "I10 E119" if index % 3 == 2 else "S8290XA V4352XA"
        claim_line(person, paid=f"{100 + index}.00", days_after=1 + index, dx=dx)
    fields = {
        "created_by": user,
        "member": person,
        "incident_date": INJURY,
        "incident_kind": "auto",
        "jurisdiction": jurisdiction(),
        "source": Case.Source.ATTORNEY_LETTER,
        "acknowledge_duplicates": True,
    }
    fields.update(extra)
    return services.open_case(**fields)


def pdf_bytes() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def rows(response) -> list[str]:
    return [case.number for case in response.context["rows"]]


# ---------------------------------------------------------------------------------------------
# Case list: search, filters, sort, pages
# ---------------------------------------------------------------------------------------------


def test_search_finds_a_case_by_number_last_name_and_full_program_id(client, specialist):
    lopez = new_case(specialist, member("Lopez", program_id="MC4455667"))
    other = new_case(specialist, member("Okafor", "Chidi"))
    client.force_login(specialist)
    url = reverse("cases:list")

    assert rows(client.get(url, {"q": lopez.number}, follow=True)) == [lopez.number]
    assert rows(client.get(url, {"q": lopez.number.lower()}, follow=True)) == [lopez.number]
    assert rows(client.get(url, {"q": "lopez"}, follow=True)) == [lopez.number]
    assert rows(client.get(url, {"q": "Chidi Okafor"}, follow=True)) == [other.number]
    assert rows(client.get(url, {"q": "MC4455667"}, follow=True)) == [lopez.number]
    # A program id is found only whole: it is stored encrypted, searched by keyed hash.
    assert rows(client.get(url, {"q": "MC44556"}, follow=True)) == []
    assert rows(client.get(url, {"q": "4455667"}, follow=True)) == []


def test_the_list_logs_the_members_shown_as_one_search_or_view(client, specialist):
    first = new_case(specialist, member("Abernathy"))
    second = new_case(specialist, member("Baptiste"))
    client.force_login(specialist)

    client.get(reverse("cases:list"))
    viewed = PhiAccess.objects.filter(user=specialist, action="view")
    assert sorted(viewed.values_list("subject_id", flat=True)) == sorted(
        [first.member_id, second.member_id]
    )

    client.get(reverse("cases:list"), {"q": first.member.last_name}, follow=True)
    searched = PhiAccess.objects.filter(user=specialist, action="search")
    assert list(searched.values_list("subject_id", flat=True)) == [first.member_id]


def test_filters_by_status_specialist_state_and_due_tasks(client, specialist, supervisor):
    mine = new_case(specialist)
    researched = new_case(specialist)
    services.change_status(case=researched, status="research", changed_by=specialist)
    closed = new_case(specialist)
    services.change_status(case=closed, status="closed", changed_by=specialist, outcome="withdrawn")
    unassigned = new_case(supervisor)
    texas = new_case(specialist, jurisdiction=jurisdiction("TX", "Texas", 2))
    services.add_deadline(
        case=mine,
        created_by=specialist,
        kind=Deadline.Kind.FOLLOW_UP,
        title="Call the adjuster",
        due_date=TODAY - timedelta(days=3),
    )
    client.force_login(specialist)
    url = reverse("cases:list")

    assert rows(client.get(url, {"status": "research"})) == [researched.number]
    assert closed.number not in rows(client.get(url, {"status": "open"}))
    assert rows(client.get(url, {"specialist": "none"})) == [unassigned.number]
    assert unassigned.number not in rows(client.get(url, {"specialist": "me"}))
    assert rows(client.get(url, {"specialist": str(specialist.pk), "jurisdiction": "TX"})) == [
        texas.number
    ]
    assert rows(client.get(url, {"due": "overdue"})) == [mine.number]
    # Unknown filter values mean "no filter", not an error.
    assert client.get(url, {"status": "nonsense", "specialist": "x' OR 1=1"}).status_code == 200


def test_columns_sort_both_ways_and_pages_hold_fifty(client, specialist):
    cases = [new_case(specialist) for _ in range(55)]
    numbers = sorted(case.number for case in cases)
    client.force_login(specialist)
    url = reverse("cases:list")

    ascending = client.get(url, {"sort": "number"})
    assert rows(ascending) == numbers[:50]
    assert 'aria-sort="ascending"' in ascending.content.decode()
    second = client.get(url, {"sort": "number", "page": 2})
    assert rows(second) == numbers[50:]
    assert rows(client.get(url, {"sort": "-number"}))[:3] == numbers[::-1][:3]
    # The sort link keeps the filters and drops the page.
    body = client.get(url, {"sort": "number", "status": "open", "page": 2}).content.decode()
    assert "?sort=-number&amp;status=open" in body


def test_htmx_requests_get_the_table_only(client, specialist):
    case = new_case(specialist)
    client.force_login(specialist)
    response = client.get(
        reverse("cases:list"), {"q": case.number}, HTTP_HX_REQUEST="true", follow=True
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="case-table"')
    assert "<html" not in body and case.number in body
    assert "HX-Request" in response["Vary"]


# ---------------------------------------------------------------------------------------------
# Who may see and do what
# ---------------------------------------------------------------------------------------------


def test_a_specialist_of_another_team_neither_finds_nor_opens_the_case(
    client, specialist, specialist2
):
    case = new_case(specialist, lines=2)
    document = services.upload_document(
        case=case,
        uploaded_by=specialist,
        upload=SimpleUploadedFile("lor.pdf", pdf_bytes(), content_type="application/pdf"),
    )
    client.force_login(specialist2)

    for tab in ("detail", "parties", "claims", "activity", "tasks", "documents", "history"):
        assert client.get(reverse(f"cases:{tab}", args=[case.pk])).status_code == 404
    assert client.get(reverse("cases:document-download", args=[document.pk])).status_code == 404
    assert rows(client.get(reverse("cases:list"))) == []
    assert rows(client.get(reverse("cases:list"), {"q": case.number}, follow=True)) == []
    assert rows(client.get(reverse("cases:list"), {"q": case.member.last_name}, follow=True)) == []
    cc = case.case_claims.first()
    decide = reverse("cases:decide-claim", args=[case.pk, cc.pk])
    assert client.post(decide, {"included": "0", "reason": "x"}).status_code == 404
    assert not PhiAccess.objects.filter(user=specialist2).exists()


def test_a_teammate_reads_the_case_but_gets_no_forms_and_may_not_change_it(
    client, specialist, team_east
):
    case = new_case(specialist, lines=1)
    teammate = make_user("teammate", Role.SPECIALIST, team_east)
    client.force_login(teammate)
    body = client.get(reverse("cases:claims", args=[case.pk])).content.decode()
    assert case.number in body and "decide-form" not in body
    cc = case.case_claims.get()
    response = client.post(
        reverse("cases:decide-claim", args=[case.pk, cc.pk]), {"included": "0", "reason": "x"}
    )
    assert response.status_code == 403


STAFF_PAGES = [
    ("cases:list", False),
    ("cases:new", False),
    ("cases:queue", False),
    ("cases:workload", False),
    ("cases:questions", False),
    ("cases:detail", True),
    ("cases:claims", True),
    ("cases:history", True),
]


def test_attorneys_get_403_on_every_staff_page(client, specialist, attorney):
    case = new_case(specialist)
    client.force_login(attorney)
    for name, with_case in STAFF_PAGES:
        url = reverse(name, args=[case.pk]) if with_case else reverse(name)
        assert client.get(url).status_code == 403, name
    assert client.post(reverse("cases:take", args=[case.pk])).status_code == 403


def test_the_auditor_reads_everything_but_every_write_is_refused(client, specialist, auditor):
    case = new_case(specialist, lines=2)
    cc = case.case_claims.first()
    document = services.upload_document(
        case=case,
        uploaded_by=specialist,
        upload=SimpleUploadedFile("lor.pdf", pdf_bytes()),
    )
    deadline = case.deadlines.first()
    client.force_login(auditor)

    for tab in ("detail", "parties", "claims", "activity", "tasks", "documents", "history"):
        response = client.get(reverse(f"cases:{tab}", args=[case.pk]))
        assert response.status_code == 200
        body = response.content.decode()
        assert 'method="post"' not in body.split("Sign out")[1], tab
    assert client.get(reverse("cases:document-download", args=[document.pk])).status_code == 200
    assert client.get(reverse("cases:new")).status_code == 403
    posts = [
        reverse("cases:decide-claim", args=[case.pk, cc.pk]),
        reverse("cases:status", args=[case.pk]),
        reverse("cases:assign", args=[case.pk]),
        reverse("cases:take", args=[case.pk]),
        reverse("cases:return", args=[case.pk]),
        reverse("cases:ask", args=[case.pk]),
        reverse("cases:party-add", args=[case.pk]),
        reverse("cases:activity-add", args=[case.pk]),
        reverse("cases:task-add", args=[case.pk]),
        reverse("cases:upload", args=[case.pk]),
        reverse("cases:deadline-done", args=[deadline.pk]),
        reverse("cases:new"),
        reverse("cases:workload"),
    ]
    for url in posts:
        assert client.post(url, {"reason": "x", "note": "x"}).status_code == 403, url
    case.refresh_from_db()
    assert case.status == "new"


# ---------------------------------------------------------------------------------------------
# Claims: include / exclude
# ---------------------------------------------------------------------------------------------


def test_excluding_a_line_lowers_the_lien_and_history_names_the_specialist(client, specialist):
    case = new_case(specialist, lines=3)
    included = list(case.case_claims.filter(included=True).select_related("claim_line"))
    assert len(included) == 2
    before = case.lien_amount
    line = included[0]
    client.force_login(specialist)

    response = client.post(
        reverse("cases:decide-claim", args=[case.pk, line.pk]),
        {"included": "0", "reason": "Routine follow-up unrelated to the crash"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.lien_amount == before - line.claim_line.paid_amount
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="cc-{line.pk}"')
    assert 'id="claim-totals"' in body and 'hx-swap-oob="true"' in body
    assert f"${case.lien_amount:,.2f}" in body
    record = CaseClaim.history.filter(id=line.pk).latest("history_date")
    assert record.history_user == specialist
    assert record.included is False
    assert record.reason == "Routine follow-up unrelated to the crash"

    # Without htmx the same action redirects back to the claims tab.
    response = client.post(
        reverse("cases:decide-claim", args=[case.pk, line.pk]),
        {"included": "1", "reason": "Attorney's records tie it to the injury"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.lien_amount == before


def test_a_decision_without_a_reason_is_a_form_error_and_changes_nothing(client, specialist):
    case = new_case(specialist, lines=1)
    cc = case.case_claims.get()
    before = case.lien_amount
    history_rows = CaseClaim.history.filter(id=cc.pk).count()
    client.force_login(specialist)

    response = client.post(
        reverse("cases:decide-claim", args=[case.pk, cc.pk]),
        {"included": "0", "reason": "   "},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Say why the line is included or excluded." in response.content.decode()
    response = client.post(
        reverse("cases:decide-claim", args=[case.pk, cc.pk]), {"included": "0", "reason": ""}
    )
    assert response.status_code == 400
    assert "Say why" in response.content.decode()
    case.refresh_from_db()
    cc.refresh_from_db()
    assert case.lien_amount == before and cc.included
    assert CaseClaim.history.filter(id=cc.pk).count() == history_rows


def test_the_claims_tab_describes_diagnoses_and_flags_late_lines(client, specialist):
    case = new_case(specialist, lines=3)
    late = claim_line(case.member, paid="75.00", days_after=90, dx="S8290XD")
    services.attach_claim_lines(case=case, lines=[late], late_arriving=True)
    client.force_login(specialist)
    body = client.get(reverse("cases:claims", args=[case.pk])).content.decode()
    assert "S82.90XA" in body and "Unspecified fracture of unspecified lower leg" in body
    assert "Essential (primary) hypertension" in body
    assert "Paid after the lien was filed" in body
    late_only = client.get(reverse("cases:claims", args=[case.pk]), {"show": "late"})
    assert [cc.claim_line_id for cc in late_only.context["claims"]] == [late.pk]


# ---------------------------------------------------------------------------------------------
# Intake
# ---------------------------------------------------------------------------------------------


def intake_post(client, person: Member, **extra):
    data = {
        "member": person.pk,
        "incident_date": INJURY.isoformat(),
        "incident_kind": "auto",
        "jurisdiction": jurisdiction().pk,
        "source": Case.Source.ATTORNEY_LETTER,
        "priority": "2",
        "incident_description": "Rear-ended at a light",
    }
    data.update(extra)
    return client.post(reverse("cases:new"), data)


def test_intake_finds_the_member_and_opens_the_case_on_its_claims_tab(client, specialist):
    person = member("Nakamura", "Ken", program_id="MC7000001")
    claim_line(person)
    client.force_login(specialist)

    found = client.get(reverse("cases:new"), {"q": "MC7000001"}, follow=True)
    assert [m.pk for m in found.context["results"]] == [person.pk]
    assert PhiAccess.objects.filter(user=specialist, action="search", subject_id=person.pk).exists()
    picked = client.get(reverse("cases:new"), {"member": person.pk})
    assert "Nakamura" in picked.content.decode()

    response = intake_post(client, person)
    case = Case.objects.get(member=person)
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:claims", args=[case.pk])
    assert case.assigned_to == specialist
    assert case.case_claims.count() == 1
    years = jurisdiction().default_sol_years  # no SolRule: the state's general period
    assert case.sol_date == INJURY.replace(year=INJURY.year + years)


def test_intake_warns_when_the_member_was_not_eligible_and_needs_confirmation(client, specialist):
    person = member(eligible_from=INJURY + timedelta(days=30))
    client.force_login(specialist)

    response = intake_post(client, person)
    assert response.status_code == 200
    assert "not eligible on" in response.content.decode()
    assert not Case.objects.filter(member=person).exists()

    response = intake_post(client, person, confirm="on")
    assert response.status_code == 302
    assert Case.objects.filter(member=person).count() == 1


def test_a_possible_duplicate_is_shown_with_a_link_and_must_be_confirmed(client, specialist):
    first = new_case(specialist, incident_date=INJURY)
    client.force_login(specialist)

    response = intake_post(client, first.member, incident_date=(INJURY + timedelta(days=10)))
    body = response.content.decode()
    assert "Possible duplicate" in body
    assert reverse("cases:detail", args=[first.pk]) in body
    assert Case.objects.filter(member=first.member).count() == 1

    response = intake_post(
        client, first.member, incident_date=(INJURY + timedelta(days=10)), confirm="on"
    )
    assert response.status_code == 302
    assert Case.objects.filter(member=first.member).count() == 2


def test_the_sol_suggestion_follows_the_jurisdiction_rule_and_stays_editable(client, specialist):
    florida = jurisdiction()
    SolRule.objects.create(
        jurisdiction=florida, incident_kind="malpractice", years=2, citation="Fla. Stat. 95.11(4)"
    )
    client.force_login(specialist)
    query = {
        "suggest_sol": "1",
        "incident_date": "2025-03-10",
        "incident_kind": "malpractice",
        "jurisdiction": florida.pk,
    }
    body = client.get(reverse("cases:new"), query).content.decode()
    assert 'value="2027-03-10"' in body and "Fla. Stat. 95.11(4)" in body
    # A date the user typed stays; a date that was only the last suggestion is replaced.
    typed = {**query, "sol_date": "2026-12-31", "sol_suggested": "2027-03-10"}
    assert 'value="2026-12-31"' in client.get(reverse("cases:new"), typed).content.decode()
    stale = {**query, "sol_date": "2029-03-10", "sol_suggested": "2029-03-10"}
    assert 'value="2027-03-10"' in client.get(reverse("cases:new"), stale).content.decode()

    person = member()
    intake_post(client, person, incident_kind="malpractice", sol_date="2026-12-31")
    assert Case.objects.get(member=person).sol_date == date(2026, 12, 31)


def test_intake_reports_bad_input_as_form_errors(client, specialist):
    person = member()
    client.force_login(specialist)
    response = intake_post(client, person, incident_date=(TODAY + timedelta(days=3)).isoformat())
    assert response.status_code == 400
    assert "cannot be in the future" in response.content.decode()
    assert intake_post(client, person, jurisdiction="").status_code == 400
    assert not Case.objects.filter(member=person).exists()


# ---------------------------------------------------------------------------------------------
# Status, assignment, questions
# ---------------------------------------------------------------------------------------------


def test_an_illegal_status_change_is_a_message_and_changes_nothing(client, specialist):
    case = new_case(specialist)
    client.force_login(specialist)
    response = client.post(
        reverse("cases:status", args=[case.pk]), {"status": "settlement"}, follow=True
    )
    assert "cannot move to Settlement" in response.content.decode()
    case.refresh_from_db()
    assert case.status == "new"

    client.post(reverse("cases:status", args=[case.pk]), {"status": "research"})
    case.refresh_from_db()
    assert case.status == "research"


def test_closing_a_case_needs_an_outcome(client, specialist):
    case = new_case(specialist)
    client.force_login(specialist)
    response = client.post(reverse("cases:status", args=[case.pk]), {"status": "closed"})
    assert response.status_code == 400
    assert "Closing a case needs an outcome." in response.content.decode()
    case.refresh_from_db()
    assert case.status == "new"

    client.post(
        reverse("cases:status", args=[case.pk]), {"status": "closed", "outcome": "no_liability"}
    )
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("closed", "no_liability")


def test_return_needs_a_note_and_a_teammate_can_take_the_case_back(client, specialist, team_east):
    case = new_case(specialist)
    client.force_login(specialist)
    response = client.post(reverse("cases:return", args=[case.pk]), {"note": ""})
    assert response.status_code == 400
    assert "Say why the case goes back to the queue." in response.content.decode()
    case.refresh_from_db()
    assert case.assigned_to == specialist

    client.post(reverse("cases:return", args=[case.pk]), {"note": "Conflict of interest"})
    case.refresh_from_db()
    assert case.assigned_to is None
    assert case.assignments.first().note == "Conflict of interest"

    teammate = make_user("teammate", Role.SPECIALIST, team_east)
    client.force_login(teammate)
    queue = client.get(reverse("cases:queue"))
    assert case.number in rows(queue)
    client.post(reverse("cases:take", args=[case.pk]))
    case.refresh_from_db()
    assert case.assigned_to == teammate
    # Taking a case someone already took is a message, not an error page.
    client.force_login(specialist)
    response = client.post(reverse("cases:take", args=[case.pk]), follow=True)
    assert "Someone already took this case." in response.content.decode()


def test_a_question_goes_to_the_supervisor_who_answers_it(client, specialist, supervisor):
    case = new_case(specialist)
    client.force_login(specialist)
    assert client.post(reverse("cases:ask", args=[case.pk]), {"question": ""}).status_code == 400
    client.post(reverse("cases:ask", args=[case.pk]), {"question": "May I accept a 40% reduction?"})
    question = SupervisorQuestion.objects.get(case=case)
    assert question.supervisor == supervisor

    client.force_login(supervisor)
    queue = client.get(reverse("cases:questions"))
    assert "May I accept a 40% reduction?" in queue.content.decode()
    answer_url = reverse("cases:answer", args=[question.pk])
    assert client.post(answer_url, {"answer": ""}).status_code == 400
    client.post(answer_url, {"answer": "Yes, document the hardship."})
    question.refresh_from_db()
    assert question.answered_by == supervisor
    assert question.answer == "Yes, document the hardship."
    # Answering twice is a message, not a 500.
    response = client.post(answer_url, {"answer": "Again"}, follow=True)
    assert "already answered" in response.content.decode()


def test_the_supervisor_reassigns_from_the_workload_view(client, specialist, supervisor, team_east):
    case = new_case(specialist)
    colleague = make_user("colleague", Role.SPECIALIST, team_east)
    client.force_login(supervisor)
    page = client.get(reverse("cases:workload"))
    people = {person.username: person.open_cases for person in page.context["people"]}
    assert people["specialist"] == 1

    response = client.post(
        reverse("cases:workload"), {"case_number": "TPL-1999-000001", "assignee": colleague.pk}
    )
    assert response.status_code == 400
    client.post(
        reverse("cases:workload"),
        {"case_number": case.number.lower(), "assignee": colleague.pk, "note": "Leave"},
    )
    case.refresh_from_db()
    assert case.assigned_to == colleague
    client.force_login(specialist)
    assert client.get(reverse("cases:workload")).status_code == 403


# ---------------------------------------------------------------------------------------------
# Parties, activity, tasks
# ---------------------------------------------------------------------------------------------


def test_parties_activity_and_tasks_are_added_from_their_tabs(client, specialist):
    case = new_case(specialist)
    insurer = Party.objects.create(kind=Party.Kind.LIABILITY_INSURER, name="Sunshine Mutual")
    client.force_login(specialist)

    client.post(
        reverse("cases:party-add", args=[case.pk]),
        {
            "party": insurer.pk,
            "role": "liability_insurer",
            "claim_number": "SM-2291",
            "policy_limits": "100000",
        },
    )
    link = case.case_parties.get()
    assert (link.claim_number, link.policy_limits) == ("SM-2291", Decimal("100000.00"))
    again = client.post(
        reverse("cases:party-add", args=[case.pk]),
        {"party": insurer.pk, "role": "liability_insurer"},
    )
    assert again.status_code == 400 and "already on this case" in again.content.decode()

    follow_up = TODAY + timedelta(days=14)
    client.post(
        reverse("cases:activity-add", args=[case.pk]),
        {
            "kind": "call",
            "direction": "out",
            "party": insurer.pk,
            "subject": "Asked for the adjuster",
            "outcome": "Left a message",
            "follow_up_on": follow_up.isoformat(),
        },
    )
    assert case.activities.filter(subject="Asked for the adjuster", party=insurer).exists()
    assert case.deadlines.filter(due_date=follow_up, kind="follow_up").exists()
    assert (
        "Asked for the adjuster"
        in client.get(reverse("cases:activity", args=[case.pk])).content.decode()
    )

    client.post(
        reverse("cases:task-add", args=[case.pk]),
        {"kind": "review", "title": "Review the police report", "due_date": TODAY.isoformat()},
    )
    task = case.deadlines.get(title="Review the police report")
    body = client.get(reverse("cases:tasks", args=[case.pk])).content.decode()
    assert "Review the police report" in body and "Today" in body
    client.post(reverse("cases:deadline-done", args=[task.pk]))
    task.refresh_from_db()
    assert task.done_by == specialist


# ---------------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------------


def test_upload_accepts_a_real_pdf_and_download_is_logged(client, specialist):
    case = new_case(specialist)
    client.force_login(specialist)
    content = pdf_bytes()
    response = client.post(
        reverse("cases:upload", args=[case.pk]),
        {
            "file": SimpleUploadedFile("Lopez LOR.pdf", content),
            "kind": "representation",
            "title": "Letter of representation",
        },
    )
    assert response.status_code == 302
    document = Document.objects.get(case=case)
    assert document.content_type == "application/pdf"

    download = client.get(reverse("cases:document-download", args=[document.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert download["Content-Disposition"].startswith("attachment;")
    assert "Lopez" not in download["Content-Disposition"]
    assert PhiAccess.objects.filter(
        user=specialist, action="download", subject_id=case.member_id, case_id=case.pk
    ).exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "invoice.pdf",
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64,
            "checked by content",
        ),
        ("notes.pdf", b"Just some text pretending to be a PDF\n", "checked by content"),
    ],
)
def test_upload_rejects_files_that_are_not_what_their_name_says(
    client, specialist, name, content, message
):
    case = new_case(specialist)
    client.force_login(specialist)
    response = client.post(
        reverse("cases:upload", args=[case.pk]),
        {"file": SimpleUploadedFile(name, content), "kind": "upload"},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Document.objects.exists()


def test_upload_rejects_an_oversize_file(client, specialist):
    case = new_case(specialist)
    client.force_login(specialist)
    big = b"%PDF-1.7\n" + b"0" * services.MAX_UPLOAD_BYTES
    response = client.post(
        reverse("cases:upload", args=[case.pk]),
        {"file": SimpleUploadedFile("big.pdf", big), "kind": "upload"},
    )
    assert response.status_code == 400
    assert "at most 20 MB" in response.content.decode()
    assert not Document.objects.exists()


# ---------------------------------------------------------------------------------------------
# History and the PHI log of the case page
# ---------------------------------------------------------------------------------------------


def test_the_history_tab_shows_who_changed_what(client, specialist):
    case = new_case(specialist, lines=2)
    cc = case.case_claims.filter(included=True).select_related("claim_line").first()
    client.force_login(specialist)
    client.post(
        reverse("cases:decide-claim", args=[case.pk, cc.pk]),
        {"included": "0", "reason": "Dental cleaning, unrelated"},
    )
    client.post(reverse("cases:status", args=[case.pk]), {"status": "research"})

    response = client.get(reverse("cases:history", args=[case.pk]))
    entries = response.context["entries"]
    status_change = next(
        e for e in entries if e.kind == "Case" and ("Status", "New", "Research") in e.changes
    )
    assert status_change.user == specialist
    line_change = next(e for e in entries if e.kind == "Claim line")
    assert line_change.user == specialist
    assert line_change.label == f"{cc.claim_line.claim_number}-1"
    assert ("Reason", "", "Dental cleaning, unrelated") in line_change.changes or any(
        change[0] == "Reason" and change[2] == "Dental cleaning, unrelated"
        for change in line_change.changes
    )
    body = response.content.decode()
    assert "Dental cleaning, unrelated" in body and "Research" in body


def test_every_case_tab_logs_the_members_phi_access(client, specialist):
    case = new_case(specialist)
    client.force_login(specialist)
    for tab in ("detail", "claims", "history"):
        client.get(reverse(f"cases:{tab}", args=[case.pk]))
    logged = PhiAccess.objects.filter(
        user=specialist, subject_type="member", subject_id=case.member_id, case_id=case.pk
    )
    assert logged.count() == 3


def test_the_summary_warns_when_not_eligible_on_the_date_of_injury(client, specialist):
    case = new_case(specialist, member(eligible_from=INJURY + timedelta(days=5)))
    client.force_login(specialist)
    body = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "not eligible on the date of injury" in body


# ---------------------------------------------------------------------------------------------
# My work
# ---------------------------------------------------------------------------------------------


def test_my_work_lists_my_cases_due_tasks_and_open_questions(
    rf, specialist, supervisor, django_assert_max_num_queries
):
    cases = [new_case(specialist) for _ in range(12)]
    services.add_deadline(
        case=cases[0],
        created_by=specialist,
        kind="follow_up",
        title="Call",
        due_date=TODAY - timedelta(days=1),
    )
    services.add_deadline(
        case=cases[1],
        created_by=specialist,
        kind="follow_up",
        title="Later",
        due_date=TODAY + timedelta(days=9),
    )
    services.ask_supervisor(case=cases[2], asked_by=specialist, question="Reduce?")
    new_case(supervisor)  # unassigned, East's queue

    with django_assert_max_num_queries(5):
        work = my_work_context(specialist)["my_work"]
    assert work["open_count"] == 12 and len(work["top_cases"]) == 10
    assert [d.title for d in work["deadlines"]] == ["Call"]
    assert len(work["questions"]) == 1 and work["queue_size"] == 1

    with django_assert_max_num_queries(3):
        boss = my_work_context(supervisor)["my_work"]
    assert boss["question_count"] == 1 and boss["queue_size"] == 1

    request = rf.get("/")
    request.user = specialist
    html = render_to_string("cases/_my_work.html", my_work_context(specialist), request=request)
    assert cases[0].number in html and "Call" in html and "Reduce?" in html
    assert cases[0].member.last_name not in html  # the home page shows no PHI
    request.user = supervisor
    html = render_to_string("cases/_my_work.html", my_work_context(supervisor), request=request)
    assert "Reduce?" in html and reverse("cases:workload") in html


# ---------------------------------------------------------------------------------------------
# Query counts do not grow with the data
# ---------------------------------------------------------------------------------------------

# Session, user, notification count, session save (3): six of them are the shell's.
LIST_MAX_QUERIES = 11
PAGE_MAX_QUERIES = 15
TABS = ("detail", "parties", "claims", "activity", "tasks", "documents", "history")


def query_count(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200, url
    return len(queries)


def test_the_case_list_runs_the_same_queries_for_5_and_60_cases(
    client, specialist, django_assert_max_num_queries
):
    views = [
        {},
        {"q": "Member0", "status": "open", "sort": "lien"},
        {"due": "week", "specialist": "me", "jurisdiction": "FL", "sort": "-sol"},
    ]
    for index in range(5):
        new_case(specialist, member(f"Member{index:03d}"))
    client.force_login(specialist)
    client.get(reverse("cases:list"))  # the first request of a session writes more
    # A search is posted; its page is addressed by the key the session keeps the term under.
    searched = client.post(reverse("cases:list"), views[1])
    views[1] = dict(parse_qsl(urlsplit(searched["Location"]).query))
    small = [query_count(client, reverse("cases:list"), params) for params in views]
    for index in range(5, 60):
        new_case(specialist, member(f"Member{index:03d}"))
    for params in views:
        with django_assert_max_num_queries(LIST_MAX_QUERIES):
            client.get(reverse("cases:list"), params)
    large = [query_count(client, reverse("cases:list"), params) for params in views]
    assert small == large
    assert len(client.get(reverse("cases:list")).context["rows"]) == 50


def decided_case(client, specialist, lines: int) -> Case:
    case = new_case(specialist, lines=lines)
    insurer = Party.objects.create(kind=Party.Kind.LIABILITY_INSURER, name="Gulf Casualty")
    services.add_case_party(case=case, party=insurer, role="liability_insurer", added_by=specialist)
    services.log_activity(
        case=case, logged_by=specialist, kind="call", subject="Called", party=insurer
    )
    services.upload_document(
        case=case, uploaded_by=specialist, upload=SimpleUploadedFile("a.pdf", pdf_bytes())
    )
    # Decide some lines through the page so the history has rows with users.
    for cc in case.case_claims.all()[: max(1, lines // 10)]:
        client.post(
            reverse("cases:decide-claim", args=[case.pk, cc.pk]),
            {"included": "0", "reason": "Unrelated"},
        )
    return case


def test_each_case_tab_runs_the_same_queries_for_3_and_80_claim_lines(
    client, specialist, django_assert_max_num_queries
):
    client.force_login(specialist)
    small_case = decided_case(client, specialist, 3)
    client.get(reverse("cases:claims", args=[small_case.pk]))  # load the ICD-10 data once
    small = {
        tab: query_count(client, reverse(f"cases:{tab}", args=[small_case.pk])) for tab in TABS
    }
    large_case = decided_case(client, specialist, 80)
    for tab in TABS:
        with django_assert_max_num_queries(PAGE_MAX_QUERIES):
            client.get(reverse(f"cases:{tab}", args=[large_case.pk]))
    large = {
        tab: query_count(client, reverse(f"cases:{tab}", args=[large_case.pk])) for tab in TABS
    }
    assert small == large
    assert len(client.get(reverse("cases:claims", args=[large_case.pk])).context["claims"]) == 80


def test_a_supervisor_assigns_from_the_case_page(client, supervisor, specialist):
    case = new_case(supervisor)
    client.force_login(supervisor)
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert reverse("cases:assign", args=[case.pk]) in page
    assert client.post(reverse("cases:assign", args=[case.pk]), {"assignee": ""}).status_code == 400
    client.post(
        reverse("cases:assign", args=[case.pk]), {"assignee": specialist.pk, "note": "Yours"}
    )
    case.refresh_from_db()
    assert case.assigned_to == specialist
    client.force_login(specialist)
    response = client.post(reverse("cases:assign", args=[case.pk]), {"assignee": specialist.pk})
    assert response.status_code == 403
