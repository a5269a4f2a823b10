"""The letter service: every kind rendered and read back, escaping, reproducibility, validation,
access, batches, and the HTML pages."""

import hashlib
import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date

from cases.models import Activity, CaseParty, Document, Party
from liens import letters
from liens.models import LetterBatch, LetterBatchItem
from tests import factories
from tests.conftest import make_user
from tests.liens.letter_helpers import (
    amend_lien,
    build_case,
    document_text,
    file_lien,
    pdf_pages,
    release_lien,
)

pytestmark = pytest.mark.django_db


def _long(day) -> str:
    return format_date(day, "F j, Y")


@pytest.fixture
def filed(specialist):
    case, firm, insurer = build_case(specialist)
    lien = file_lien(case, specialist, firm)
    return case, firm, insurer, lien


def _render(document):
    document = letters.render_document(document)
    assert document.status == Document.Status.READY, document.error
    return document


def _prepare(kind, case, firm, insurer, lien, specialist, supervisor):
    """The recipient, body and lien state each kind needs."""
    if kind == "lien_amendment":
        amend_lien(lien, specialist, supervisor, new_amount=Decimal("450.00"))
    if kind == "lien_release":
        release_lien(lien, specialist, supervisor)
    recipient = {"itemized_statement": insurer, "member_questionnaire": None}.get(kind, firm)
    body = {
        "general": "Thank you for your call today.\n\nPlease send the police report.",
        "reduction_decision": "We agree to reduce the program's claim to $200.00 because the "
        "policy limits were exhausted.",
        "payment_receipt": "Check 1234 for $300.00, received on our reference.",
    }.get(kind, "")
    return recipient, body


EXPECTED = {
    "lien_notice": ["NOTICE OF MEDICAID LIEN", "$300.00", "42 U.S.C. §1396a(a)(25)",
                    "section 409.910, Florida Statutes", "Do not pay out", "ITEMIZED STATEMENT",
                    "Springfield General Hospital", "BY CERTIFIED MAIL"],
    "itemized_statement": ["ITEMIZED STATEMENT", "Acme Mutual Insurance", "Attn: Pat Adjuster",
                           "CLM-77-1234", "$300.00", "S82.90XA", "99283"],
    "lien_amendment": ["AMENDED NOTICE", "$300.00", "$450.00", "$150.00",
                       "Late-arriving claims added."],
    "lien_release": ["RELEASE OF MEDICAID LIEN", "$300.00", "Nothing more is owed"],
    "final_demand": ["FINAL DEMAND", "$300.00", "payable to"],
    "reduction_decision": ["DECISION ON YOUR REQUEST", "policy limits were exhausted"],
    "information_request": ["REQUEST FOR INFORMATION", "policy limits"],
    "payment_receipt": ["RECEIPT OF PAYMENT", "Check 1234"],
    "member_questionnaire": ["ACCIDENT AND INJURY QUESTIONNAIRE", "Dear Alex Sample",
                             "Test Street", "Springfield, FL"],
    "general": ["Thank you for your call today.", "Please send the police report."],
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(Document.LETTER_KINDS))
def test_every_letter_kind_renders_and_reads_back(kind, filed, specialist, supervisor, tmp_path):
    case, firm, insurer, lien = filed
    recipient, body = _prepare(kind, case, firm, insurer, lien, specialist, supervisor)
    document = letters.request_letter(
        case=case, kind=kind, recipient=recipient, requested_by=specialist, body=body
    )
    assert document.status == Document.Status.PENDING
    document = _render(document)
    text = document_text(document, tmp_path)
    flat = " ".join(text.split())
    for expected in [case.number, "Alex Sample", *EXPECTED[kind]]:
        assert expected in flat, f"{expected!r} missing from the {kind} letter"
    if recipient is not None:
        assert recipient.name in text
    with document.file.open("rb") as handle:
        content = handle.read()
    pages = pdf_pages(content)
    assert document.pages == pages
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.size == len(content)
    assert document.template_version == f"{kind}@1"
    assert document.file.name.endswith(f"{document.sha256[:16]}.pdf")


def test_a_notice_itemizes_each_line_and_asks_for_an_answer_by_the_response_date(
    filed, specialist, tmp_path
):
    case, firm, insurer, lien = filed
    document = _render(
        letters.request_letter(
            case=case, kind="lien_notice", recipient=firm, requested_by=specialist
        )
    )
    text = " ".join(document_text(document, tmp_path).split())
    for cc in case.case_claims.filter(included=True).select_related("claim_line"):
        assert f"{cc.claim_line.claim_number}-1" in text
    due = lien.filed_on + timedelta(days=case.jurisdiction.response_days)
    assert _long(due) in text
    assert _long(case.incident_date) in text
    assert "3 paid service lines" in text


@pytest.mark.parametrize("filed_days_ago", [10, 45])
def test_the_answer_is_due_after_filing_or_afresh_when_that_date_has_passed(
    specialist, filed_days_ago
):
    case, firm, _ = build_case(specialist)
    today = timezone.localdate()
    lien = file_lien(case, specialist, firm, filed_on=today - timedelta(days=filed_days_ago))
    days = case.jurisdiction.response_days
    context = letters.build_context("lien_notice", case, firm, requested_by=specialist)
    filed_due = lien.filed_on + timedelta(days=days)
    expected = filed_due if filed_due >= today else today + timedelta(days=days)
    assert context["respond_by"] == expected.isoformat()


def test_a_notice_before_filing_uses_the_included_lines(specialist, tmp_path):
    case, firm, _ = build_case(specialist, lines=2, paid="75.25")
    document = _render(
        letters.request_letter(
            case=case, kind="lien_notice", recipient=firm, requested_by=specialist
        )
    )
    text = document_text(document, tmp_path)
    assert "$150.50" in text
    assert document.context["lien"] is None


def test_a_final_demand_after_an_accepted_settlement_asks_for_the_agreed_amount(
    filed, specialist, supervisor, tmp_path
):
    from settlements import services as settlement_services

    case, firm, _, _ = filed
    settlement = settlement_services.propose_settlement(
        case=case,
        proposed_by=specialist,
        gross_settlement=Decimal("10000.00"),
        attorney_fees=Decimal("3333.33"),
        costs=Decimal("166.67"),
        agreed_recovery=Decimal("200.00"),
        compromise_reason="Policy limits.",
        justification="The insurer will pay no more.",
    )
    if settlement.status != "accepted":
        settlement_services.approve_settlement(settlement=settlement, approved_by=supervisor)
    demand = Document.objects.get(case=case, kind="final_demand")  # sent on acceptance
    assert demand.context["amount"] == "200.00"
    assert demand.context["lien_amount"] == "300.00"
    text = " ".join(document_text(_render(demand), tmp_path).split())
    assert "$10,000.00" in text and "to accept $200.00 in full satisfaction" in text
    assert "Please pay $200.00 by" in text


def test_markup_in_a_party_name_prints_as_text_and_fetches_nothing(specialist, tmp_path, listener):
    case, _, _ = build_case(specialist)
    hostile = f'<img src="http://127.0.0.1:{listener.port}/x">'
    party = Party.objects.create(
        kind=Party.Kind.LAW_FIRM,
        name=hostile,
        address_line1=f'<link rel="stylesheet" href="http://127.0.0.1:{listener.port}/s.css">',
    )
    factories.attorney_of_record(case, party, specialist)
    body = f'<script>alert(1)</script>\n\n<iframe src="http://127.0.0.1:{listener.port}/f">'
    document = letters.request_letter(
        case=case, kind="general", recipient=party, requested_by=specialist, body=body
    )
    html = letters.preview_html("general", case, party, body, requested_by=specialist)
    assert "&lt;img src=" in html and '<img src="http' not in html
    assert "&lt;script&gt;" in html
    document = _render(document)
    text = document_text(document, tmp_path)
    assert hostile in text
    assert "<script>alert(1)</script>" in text
    assert listener.connections == 0


def test_a_thousand_line_itemized_statement_renders(specialist, tmp_path, capsys):
    case, _, insurer = build_case(specialist, lines=1000)
    document = letters.request_letter(
        case=case, kind="itemized_statement", recipient=insurer, requested_by=specialist
    )
    started = time.perf_counter()
    document = _render(document)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n1,000-line itemized statement: {elapsed:.2f} s, {document.pages} pages")
    text = document_text(document, tmp_path)
    assert document.pages > 15
    assert f"Page {document.pages} of {document.pages}" in text
    assert "$100,000.00" in text
    assert "1000 service lines" in text
    last = case.case_claims.order_by("-claim_line__service_from", "-claim_line__claim_number")
    assert last.first().claim_line.claim_number in text
    # The header repeats on every page of the table.
    assert text.count("Service dates") >= document.pages - 1


def test_rendering_the_stored_context_again_gives_the_same_bytes(filed, specialist):
    case, firm, _, _ = filed
    document = _render(
        letters.request_letter(
            case=case, kind="lien_notice", recipient=firm, requested_by=specialist
        )
    )
    document.refresh_from_db()
    again = letters.render_letter_pdf(document.template_version, document.context)
    third = letters.render_letter_pdf(
        document.template_version, json.loads(json.dumps(document.context))
    )
    assert again.sha256 == document.sha256 == third.sha256


def test_rendering_is_idempotent(filed, specialist):
    case, firm, _, _ = filed
    document = _render(
        letters.request_letter(
            case=case, kind="information_request", recipient=firm, requested_by=specialist
        )
    )
    name, ready_at = document.file.name, document.ready_at
    again = letters.render_document(document)
    assert (again.file.name, again.ready_at) == (name, ready_at)


def test_a_request_snapshots_json_logs_the_contact_and_waits_for_commit(
    filed, specialist, django_capture_on_commit_callbacks
):
    case, firm, _, _ = filed
    with django_capture_on_commit_callbacks() as callbacks:
        document = letters.request_letter(
            case=case, kind="lien_notice", recipient=firm, requested_by=specialist
        )
    assert len(callbacks) == 1  # render_letter.delay after commit
    assert document.title == f"Notice of lien — {case.number} — Smith & Jones LLP"
    assert document.uploaded_by == specialist
    context = json.loads(json.dumps(document.context))  # JSON all the way down
    assert context["amount"] == "300.00"
    assert context["letter_date"] == timezone.localdate().isoformat()
    assert context["lines"][0]["paid"] == "100.00"
    activity = Activity.objects.get(case=case, kind=Activity.Kind.LETTER)
    assert activity.direction == Activity.Direction.OUTBOUND
    assert activity.party == firm
    assert activity.subject == document.title


def test_a_template_error_fails_the_letter_and_tells_the_requester(filed, specialist):
    case, firm, _, _ = filed
    document = letters.request_letter(
        case=case, kind="general", recipient=firm, requested_by=specialist, body="Hello"
    )
    Document.objects.filter(pk=document.pk).update(template_version="general@99")
    document = letters.render_document(document)
    assert document.status == Document.Status.FAILED
    assert "unknown template version" in document.error
    assert specialist.notifications.filter(title__contains="could not be generated").exists()


# ---------------------------------------------------------------------------------------------
# Validation and access
# ---------------------------------------------------------------------------------------------


def _errors(call) -> dict:
    with pytest.raises(ValidationError) as error:
        call()
    return error.value.message_dict


def test_bad_requests_name_the_field(filed, specialist):
    case, firm, _, _ = filed
    stranger = Party.objects.create(kind=Party.Kind.LAW_FIRM, name="Not On The Case LLP")

    def ask(**kw):
        args = {
            "case": case,
            "kind": "general",
            "recipient": firm,
            "requested_by": specialist,
            "body": "x",
        }
        return lambda: letters.request_letter(**{**args, **kw})

    assert "kind" in _errors(ask(kind="love_letter"))
    assert "recipient" in _errors(ask(recipient=stranger))
    assert "recipient" in _errors(ask(recipient=None))
    assert "body" in _errors(ask(body="  "))
    assert "body" in _errors(ask(body="x" * 20_001))
    assert "subject" in _errors(ask(subject="s" * 151))
    assert "body" in _errors(ask(kind="reduction_decision", body=""))
    assert "recipient" in _errors(ask(kind="member_questionnaire"))
    assert "kind" in _errors(ask(kind="lien_amendment"))  # nothing amended yet
    assert "kind" in _errors(ask(kind="lien_release"))  # nothing released yet
    assert not Document.objects.exists()


def test_an_inactive_party_is_not_a_recipient(filed, specialist):
    case, firm, _, _ = filed
    CaseParty.objects.filter(case=case, party=firm).update(is_active=False)
    assert "recipient" in _errors(
        lambda: letters.request_letter(
            case=case, kind="lien_notice", recipient=firm, requested_by=specialist
        )
    )


def test_a_notice_needs_a_lien_or_included_lines(specialist):
    case, firm, _ = build_case(specialist, lines=0)
    assert "kind" in _errors(
        lambda: letters.request_letter(
            case=case, kind="lien_notice", recipient=firm, requested_by=specialist
        )
    )


def test_only_those_who_edit_the_case_send_letters(filed, specialist2, auditor, team_east):
    case, firm, _, _ = filed
    teammate = make_user("teammate", "specialist", team_east)
    for user in (specialist2, auditor, teammate):
        with pytest.raises(PermissionDenied):
            letters.request_letter(case=case, kind="lien_notice", recipient=firm, requested_by=user)


def test_a_supervisor_sends_on_any_case(filed, supervisor2):
    case, firm, _, _ = filed
    document = letters.request_letter(
        case=case, kind="lien_notice", recipient=firm, requested_by=supervisor2
    )
    assert document.context["signer"]["title"] == "Recovery Supervisor"


def test_a_questionnaire_to_a_member_without_a_case(specialist, tmp_path):
    from cases.models import Lead

    person = factories.member(first="Robin", last="Lead")
    lead = Lead.objects.create(
        member=person, first_service=timezone.localdate() - timedelta(days=20)
    )
    document = letters.request_letter(
        case=None,
        kind="member_questionnaire",
        recipient=None,
        requested_by=specialist,
        member=person,
    )
    assert document.member == person and document.case is None
    assert "Robin" not in document.title
    lead.refresh_from_db()
    assert lead.status == Lead.Status.LETTER_SENT
    text = document_text(_render(document), tmp_path)
    assert "Dear Robin Lead" in text
    assert _long(lead.first_service) in " ".join(text.split())
    assert "Ref. Robin" not in text


# ---------------------------------------------------------------------------------------------
# Batches and the example criterion
# ---------------------------------------------------------------------------------------------


def _quiet(case, days=100):
    Activity.objects.filter(case=case).update(occurred_at=timezone.now() - timedelta(days=days))


@pytest.fixture
def quiet_cases(specialist):
    cases = []
    for n in range(3):
        case, firm, _ = build_case(specialist, lines=2, firm_name=f"Firm {n} LLP")
        file_lien(case, specialist, firm)
        _quiet(case)
        cases.append(case)
    return cases


def test_the_criterion_finds_filed_liens_without_contact_in_90_days(quiet_cases, specialist):
    recent, _, _ = build_case(specialist, lines=1)
    file_lien(recent, specialist, recent.case_parties.first().party)
    no_lien, _, _ = build_case(specialist, lines=1)
    _quiet(no_lien)
    found = set(letters.cases_without_recent_contact(specialist).values_list("pk", flat=True))
    assert found == {case.pk for case in quiet_cases}


def test_a_batch_sends_once_per_case_and_running_it_again_adds_nothing(
    quiet_cases, specialist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        batch = letters.start_batch(
            kind="information_request",
            cases=[*quiet_cases, quiet_cases[0]],
            recipient_role=CaseParty.Role.ATTORNEY_OF_RECORD,
            created_by=specialist,
            description="Quiet cases",
        )
    assert len(callbacks) == 1 and batch.total == 3
    assert letters.add_batch_items(batch, [c.pk for c in quiet_cases]) == 0
    batch = letters.run_batch(batch.pk)
    assert (batch.status, batch.done, batch.failed, batch.skipped) == ("done", 3, 0, 0)
    assert batch.percent == 100
    assert Document.objects.filter(kind="information_request", status="ready").count() == 3
    LetterBatch.objects.filter(pk=batch.pk).update(status=LetterBatch.Status.RUNNING)
    letters.run_batch(batch.pk)  # a redelivered task
    assert Document.objects.filter(kind="information_request").count() == 3
    batch.refresh_from_db()
    assert batch.done == 3
    # The letters are contact: the criterion no longer finds these cases.
    assert not letters.cases_without_recent_contact(specialist).exists()


def test_a_case_without_the_role_is_skipped_and_the_rest_go_out(quiet_cases, specialist):
    CaseParty.objects.filter(case=quiet_cases[1], role=CaseParty.Role.ATTORNEY_OF_RECORD).update(
        is_active=False
    )
    batch = letters.start_batch(
        kind="information_request",
        cases=quiet_cases,
        recipient_role=CaseParty.Role.ATTORNEY_OF_RECORD,
        created_by=specialist,
    )
    batch = letters.run_batch(batch.pk)
    assert (batch.done, batch.skipped) == (2, 1)
    item = batch.items.get(case=quiet_cases[1])
    assert item.message.startswith("No member's attorney of record")


def test_cancelling_stops_a_batch_between_cases(quiet_cases, specialist, monkeypatch):
    batch = letters.start_batch(
        kind="information_request",
        cases=quiet_cases,
        recipient_role=CaseParty.Role.ATTORNEY_OF_RECORD,
        created_by=specialist,
    )
    real_render = letters.render_document

    def render_then_cancel(document):
        document = real_render(document)
        if not LetterBatch.objects.get(pk=batch.pk).cancelled_at:
            letters.cancel_batch(LetterBatch.objects.get(pk=batch.pk), specialist)
        return document

    monkeypatch.setattr(letters, "render_document", render_then_cancel)
    batch = letters.run_batch(batch.pk)
    assert batch.status == LetterBatch.Status.CANCELLED
    assert (batch.done, batch.skipped) == (1, 2)
    assert Document.objects.filter(kind="information_request").count() == 1
    assert batch.items.filter(status=LetterBatchItem.Status.SKIPPED).count() == 2
    with pytest.raises(Exception, match="already cancelled"):
        letters.cancel_batch(batch, specialist)


def test_only_writers_start_batches_and_only_known_kinds(quiet_cases, auditor, specialist):
    with pytest.raises(PermissionDenied):
        letters.start_batch(
            kind="information_request",
            cases=quiet_cases,
            recipient_role="attorney_of_record",
            created_by=auditor,
        )
    assert "kind" in _errors(
        lambda: letters.start_batch(
            kind="general",
            cases=quiet_cases,
            recipient_role="attorney_of_record",
            created_by=specialist,
        )
    )


# ---------------------------------------------------------------------------------------------
# HTML pages
# ---------------------------------------------------------------------------------------------


def test_the_letters_page_lists_letters_and_offers_the_form(client, filed, specialist):
    case, firm, _, _ = filed
    _render(
        letters.request_letter(
            case=case, kind="lien_notice", recipient=firm, requested_by=specialist
        )
    )
    client.force_login(specialist)
    response = client.get(reverse("liens:case-letters", args=[case.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Send a letter" in page and "Notice of lien" in page and "Smith &amp; Jones LLP" in page
    assert "<script>" not in page.split("</head>")[1]


def test_the_preview_is_escaped_inside_a_sandboxed_iframe(client, filed, specialist):
    case, firm, _, _ = filed
    client.force_login(specialist)
    response = client.post(
        reverse("liens:letter-preview", args=[case.pk]),
        {"kind": "general", "recipient": firm.pk, "body": "<b>bold</b> claim"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "<iframe sandbox srcdoc=" in page
    # The whole letter is one attribute value: no raw tag of it reaches the page.
    assert "<html" not in page and "<main" not in page and "<b>bold</b>" not in page
    assert "&amp;lt;b&amp;gt;bold" in page  # escaped in the letter, and again in the attribute


def test_sending_from_the_page_creates_a_pending_letter_that_polls(client, filed, specialist):
    case, firm, _, _ = filed
    client.force_login(specialist)
    response = client.post(
        reverse("liens:case-letters", args=[case.pk]),
        {"kind": "information_request", "recipient": firm.pk, "body": ""},
    )
    assert response.status_code == 302
    document = Document.objects.get(kind="information_request")
    row = client.get(reverse("liens:letter-row", args=[document.pk]))
    assert 'hx-trigger="every 2s"' in row.content.decode()
    _render(document)
    row = client.get(reverse("liens:letter-row", args=[document.pk]))
    assert "every 2s" not in row.content.decode()
    assert reverse("liens:letter-download", args=[document.pk]) in row.content.decode()


def test_a_bad_send_shows_the_error_on_the_form(client, filed, specialist):
    case, firm, _, _ = filed
    client.force_login(specialist)
    response = client.post(
        reverse("liens:case-letters", args=[case.pk]), {"kind": "general", "recipient": firm.pk}
    )
    assert response.status_code == 400
    assert "Write the letter" in response.content.decode()


def test_auditors_read_the_letters_page_but_cannot_send(client, filed, auditor):
    case, firm, _, _ = filed
    client.force_login(auditor)
    assert client.get(reverse("liens:case-letters", args=[case.pk])).status_code == 200
    response = client.post(
        reverse("liens:case-letters", args=[case.pk]), {"kind": "lien_notice", "recipient": firm.pk}
    )
    assert response.status_code == 403


def test_the_batches_page_starts_polls_and_cancels(
    client, quiet_cases, specialist, django_capture_on_commit_callbacks
):
    client.force_login(specialist)
    page = client.get(reverse("liens:batches"))
    assert page.status_code == 200 and "3 cases" in page.content.decode()
    with django_capture_on_commit_callbacks():
        response = client.post(
            reverse("liens:batches"),
            {"kind": "information_request", "recipient_role": "attorney_of_record", "days": 90},
        )
    assert response.status_code == 302
    batch = LetterBatch.objects.get()
    assert batch.total == 3
    progress = client.get(reverse("liens:batch-progress", args=[batch.pk]))
    assert "<progress" in progress.content.decode() and "every 2s" in progress.content.decode()
    response = client.post(reverse("liens:batch-cancel", args=[batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == LetterBatch.Status.CANCELLED


def test_letter_download_from_the_page_logs_the_phi_read(client, filed, specialist):
    from recovery.core.models import PhiAccess

    case, firm, _, _ = filed
    document = _render(
        letters.request_letter(
            case=case, kind="lien_notice", recipient=firm, requested_by=specialist
        )
    )
    client.force_login(specialist)
    response = client.get(reverse("liens:letter-download", args=[document.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert PhiAccess.objects.filter(user=specialist, action="download", case_id=case.pk).exists()
