"""The attorney portal: invitations, attorney pages and actions, the dispute queue, and who
reaches which page (every endpoint × persona: tests/core/test_access_matrix.py)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from cases.models import Activity, Document
from recovery.core.models import Notification, PhiAccess, Role, User
from recovery.portal import services
from recovery.portal.models import Dispute, Invitation, Referral
from settlements.models import NegotiationEntry
from tests import factories

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
NEW_PASSWORD = "Quiet-river-stones-42"


REFERRAL = {
    "client_name": "Robin Referred",
    "client_date_of_birth": date(1980, 5, 17),
    "incident_date": date(2025, 2, 1),
    "incident_kind": "auto",
    "state": "NY",
    "description": "Rear-ended at a light.",
}


def _pdf(name="file.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


@pytest.fixture
def world(specialist, specialist2, supervisor, attorney, attorney2):
    """Two firms, each attorney of record on one case of the specialist's; a letter to each."""
    firm = factories.law_firm("Firm One LLP")
    firm2 = factories.law_firm("Firm Two LLP")
    attorney.party = firm
    attorney.save()
    attorney2.party = firm2
    attorney2.save()
    cases = {}
    for key, owner in (("mine", firm), ("theirs", firm2)):
        person = factories.member(last=f"Client{key.capitalize()}")
        lines = [
            factories.claim_line(person, service_from=date(2025, 3, 2), paid="400.00"),
            factories.claim_line(person, service_from=date(2025, 3, 5), paid="100.00"),
        ]
        case = factories.open_case(specialist, person)
        from cases import services as case_services

        case_services.attach_claim_lines(case=case, lines=lines)
        for cc in case.case_claims.all():
            case_services.decide_claim(
                case_claim=cc, included=True, reason="Accident related", decided_by=specialist
            )
        factories.attorney_of_record(case, owner, specialist)
        case.refresh_from_db()
        letter = Document(
            case=case,
            kind=Document.Kind.LIEN_NOTICE,
            title="Notice of lien",
            status=Document.Status.READY,
            recipient=owner,
            sha256="ab" * 32,
            extension=".pdf",
        )
        letter.file.save("letter.pdf", ContentFile(PDF), save=False)
        letter.save()
        cases[key] = case
        cases[f"{key}_letter"] = letter
    cases["firm"], cases["firm2"] = firm, firm2
    return cases


@pytest.fixture
def extras(world, attorney, attorney2):
    """The world plus an upload by each firm's attorney and a referral by the first firm."""
    from cases import services as case_services

    world["mine_upload"] = case_services.upload_document(
        case=world["mine"], uploaded_by=attorney, upload=_pdf("mine.pdf"), title="Mine"
    )
    world["theirs_upload"] = case_services.upload_document(
        case=world["theirs"], uploaded_by=attorney2, upload=_pdf("theirs.pdf"), title="Theirs"
    )
    world["mine_referral"] = services.submit_referral(
        submitted_by=attorney, representation_letter=_pdf("lor.pdf"), **REFERRAL
    )
    return world


def _login(client, user):
    client.force_login(user)
    return client


# ---------------------------------------------------------------------------------------------
# Invitations
# ---------------------------------------------------------------------------------------------


def _invite(client, supervisor, firm, email="new.lawyer@example.org") -> str:
    _login(client, supervisor)
    response = client.post(reverse("portal:invite"), {"party": firm.pk, "email": email})
    assert response.status_code == 302
    body = mail.outbox[-1].body
    link = next(line for line in body.splitlines() if "/portal/accept/" in line)
    client.logout()
    return link.split("/portal/accept/")[1].strip("/")


def test_invitation_accept_creates_attorney_and_logs_in(client, supervisor, world):
    token = _invite(client, supervisor, world["firm"])
    invitation = Invitation.objects.get()
    assert invitation.token_hash != token and len(invitation.token_hash) == 64
    assert token not in str(Invitation.objects.values_list())
    assert client.get(reverse("portal:accept", args=[token])).status_code == 200
    response = client.post(
        reverse("portal:accept", args=[token]),
        {"username": "newlawyer", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response.url == reverse("portal:home")
    user = User.objects.get(username="newlawyer")
    assert user.role == Role.ATTORNEY and user.party == world["firm"]
    invitation.refresh_from_db()
    assert invitation.accepted_at and invitation.user == user
    page = client.get(reverse("portal:home"))
    assert page.status_code == 200 and world["mine"].number in page.content.decode()


def test_invitation_weak_password_refused(client, supervisor, world):
    token = _invite(client, supervisor, world["firm"])
    response = client.post(
        reverse("portal:accept", args=[token]),
        {"username": "newlawyer", "password1": "12345", "password2": "12345"},
    )
    assert response.status_code == 400
    assert not User.objects.filter(username="newlawyer").exists()


def test_invitation_overlong_password_refused(client, supervisor, world):
    token = _invite(client, supervisor, world["firm"])
    page = client.get(reverse("portal:accept", args=[token])).content.decode()
    assert page.count('maxlength="128"') == 2
    overlong = "Quiet-river-" + "s" * 200
    response = client.post(
        reverse("portal:accept", args=[token]),
        {"username": "newlawyer", "password1": overlong, "password2": overlong},
    )
    assert response.status_code == 400
    assert "at most 128 characters" in response.content.decode()
    assert not User.objects.filter(username="newlawyer").exists()


def test_invitation_reused_is_gone(client, supervisor, world):
    token = _invite(client, supervisor, world["firm"])
    data = {"username": "newlawyer", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    client.post(reverse("portal:accept", args=[token]), data)
    client.logout()
    again = client.post(reverse("portal:accept", args=[token]), {**data, "username": "other"})
    assert again.status_code == 410
    assert b"can no longer be used" in again.content
    assert client.get(reverse("portal:accept", args=[token])).status_code == 410
    assert User.objects.filter(role=Role.ATTORNEY, party=world["firm"]).count() == 2


def test_invitation_expired_and_unknown(client, supervisor, world):
    token = _invite(client, supervisor, world["firm"])
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get(reverse("portal:accept", args=[token])).status_code == 410
    assert client.get(reverse("portal:accept", args=["not-a-token"])).status_code == 404


def test_auditor_and_attorney_cannot_invite(client, auditor, attorney, world):
    for user in (auditor, attorney):
        _login(client, user)
        response = client.post(
            reverse("portal:invite"), {"party": world["firm"].pk, "email": "x@example.org"}
        )
        assert response.status_code == 403
    assert not Invitation.objects.exists() and not mail.outbox


# ---------------------------------------------------------------------------------------------
# Attorney pages
# ---------------------------------------------------------------------------------------------


def test_attorney_list_shows_only_own_cases(client, attorney, world):
    page = _login(client, attorney).get(reverse("portal:home")).content.decode()
    assert world["mine"].number in page and "ClientMine" in page
    assert world["theirs"].number not in page and "ClientTheirs" not in page
    assert "500.00" in page


def test_attorney_case_page_shows_lines_letters_negotiation(client, attorney, attorney2, world):
    case = world["mine"]
    services.report_settlement(case=world["theirs"], reported_by=attorney2, gross=Decimal("9"))
    services.report_settlement(case=case, reported_by=attorney, gross=Decimal("50000"))
    page = _login(client, attorney).get(reverse("portal:case", args=[case.pk])).content.decode()
    assert "400.00" in page and "99283" in page
    assert reverse("liens:letter-download", args=[world["mine_letter"].pk]) in page
    assert reverse("liens:letter-download", args=[world["theirs_letter"].pk]) not in page
    assert "50,000.00" in page
    assert PhiAccess.objects.filter(user=attorney, case_id=case.pk).exists()


def test_idor_other_firms_case_is_404_everywhere(client, attorney2, world):
    case = world["mine"]
    _login(client, attorney2)
    line = case.case_claims.first()
    assert client.get(reverse("portal:case", args=[case.pk])).status_code == 404
    assert (
        client.get(reverse("liens:letter-download", args=[world["mine_letter"].pk])).status_code
        == 404
    )
    response = client.post(
        reverse("portal:dispute", args=[case.pk]), {"lines": [line.pk], "reason": "Not ours"}
    )
    assert response.status_code == 404
    upload = SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf")
    response = client.post(
        reverse("portal:upload", args=[case.pk]), {"kind": "upload", "file": upload}
    )
    assert response.status_code == 404
    for name in ("portal:settlement", "portal:lien-amount"):
        assert client.post(reverse(name, args=[case.pk]), {"gross": "1"}).status_code == 404
    assert client.get(reverse("portal:case", args=[999999])).status_code == 404
    assert not Dispute.objects.exists()
    assert not case.documents.filter(kind=Document.Kind.UPLOAD).exists()
    assert not NegotiationEntry.objects.exists()


def test_dispute_of_another_cases_line_is_refused(client, attorney, world):
    foreign_line = world["theirs"].case_claims.first()
    response = _login(client, attorney).post(
        reverse("portal:dispute", args=[world["mine"].pk]),
        {"lines": [foreign_line.pk], "reason": "Sneaky"},
    )
    assert response.status_code == 400
    assert not Dispute.objects.exists()


def test_attorney_letter_download_logs_phi(client, attorney, world):
    letter = world["mine_letter"]
    response = _login(client, attorney).get(reverse("liens:letter-download", args=[letter.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert PhiAccess.objects.filter(user=attorney, action=PhiAccess.Action.DOWNLOAD).exists()


# ---------------------------------------------------------------------------------------------
# Actions and the specialist queue
# ---------------------------------------------------------------------------------------------


def test_dispute_upheld_drops_lien_and_notifies_attorney(client, attorney, specialist, world):
    case = world["mine"]
    assert case.lien_amount == Decimal("500.00")
    disputed = case.case_claims.get(claim_line__paid_amount=Decimal("100.00"))
    _login(client, attorney)
    upload = SimpleUploadedFile("records.pdf", PDF, content_type="application/pdf")
    response = client.post(
        reverse("portal:dispute", args=[case.pk]),
        {"lines": [disputed.pk], "reason": "Unrelated flu visit", "file": upload},
    )
    assert response.status_code == 302
    dispute = Dispute.objects.get()
    assert dispute.status == Dispute.Status.OPEN and dispute.document is not None
    assert list(dispute.lines.all()) == [disputed]
    assert Activity.objects.filter(case=case, kind=Activity.Kind.PORTAL).exists()
    assert Notification.objects.filter(user=specialist, kind="portal_dispute").exists()

    _login(client, specialist)
    queue = client.get(reverse("portal:disputes"))
    assert queue.status_code == 200 and "Unrelated flu visit" in queue.content.decode()
    response = client.post(
        reverse("portal:dispute-decide", args=[dispute.pk]),
        {"decision": "uphold", "reason": "Records confirm"},
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    case.refresh_from_db()
    disputed.refresh_from_db()
    assert dispute.status == Dispute.Status.UPHELD and dispute.decided_by == specialist
    assert case.lien_amount == Decimal("400.00")
    assert not disputed.included and disputed.reason == "Dispute upheld: Records confirm"
    note = Notification.objects.get(user=attorney, kind="portal_dispute_decided")
    assert "upheld" in note.title and "400.00" in note.body
    assert "Unrelated flu visit" not in client.get(reverse("portal:disputes")).content.decode()


def test_deny_needs_reason(client, attorney, specialist, world):
    case = world["mine"]
    dispute = services.create_dispute(
        case=case,
        submitted_by=attorney,
        case_claim_ids=[case.case_claims.first().pk],
        reason="Unrelated",
    )
    _login(client, specialist)
    url = reverse("portal:dispute-decide", args=[dispute.pk])
    assert client.post(url, {"decision": "deny", "reason": " "}).status_code == 400
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN
    assert (
        client.post(url, {"decision": "deny", "reason": "Treatment was for the crash"}).status_code
        == 302
    )
    dispute.refresh_from_db()
    case.refresh_from_db()
    assert dispute.status == Dispute.Status.DENIED and case.lien_amount == Decimal("500.00")
    assert Notification.objects.filter(user=attorney, kind="portal_dispute_decided").exists()


def test_other_team_specialist_cannot_decide(client, attorney, specialist2, world):
    case = world["mine"]
    dispute = services.create_dispute(
        case=case, submitted_by=attorney, case_claim_ids=[case.case_claims.first().pk], reason="x"
    )
    _login(client, specialist2)
    assert "TPL-" not in client.get(reverse("portal:disputes")).content.decode()
    response = client.post(
        reverse("portal:dispute-decide", args=[dispute.pk]), {"decision": "uphold"}
    )
    assert response.status_code == 404


def test_dispute_reason_required_and_bounded(client, attorney, world):
    case = world["mine"]
    line = case.case_claims.first()
    _login(client, attorney)
    url = reverse("portal:dispute", args=[case.pk])
    assert client.post(url, {"lines": [line.pk], "reason": ""}).status_code == 400
    assert client.post(url, {"lines": [line.pk], "reason": "x" * 501}).status_code == 400
    assert not Dispute.objects.exists()


def test_settlement_report_lands_as_negotiation_entry(client, attorney, specialist, world):
    case = world["mine"]
    _login(client, attorney)
    response = client.post(
        reverse("portal:settlement", args=[case.pk]),
        {"gross": "25000.00", "fees": "8333.33", "costs": "1200.00", "full_value": "100000"},
    )
    assert response.status_code == 302
    entry = NegotiationEntry.objects.get(case=case)
    assert entry.kind == NegotiationEntry.Kind.SETTLEMENT_REPORT
    assert entry.channel == NegotiationEntry.Channel.PORTAL
    assert entry.amount == Decimal("25000.00") and entry.created_by == attorney
    assert entry.party == world["firm"] and "8,333.33" in entry.note
    assert Notification.objects.filter(user=specialist, kind="portal_settlement").exists()

    response = client.post(
        reverse("portal:settlement", args=[case.pk]),
        {"gross": "25000", "fees": "0", "costs": "0", "reduction_requested": "on"},
    )
    assert response.status_code == 302
    assert NegotiationEntry.objects.filter(kind=NegotiationEntry.Kind.REDUCTION_REQUEST).exists()
    bad = client.post(
        reverse("portal:settlement", args=[case.pk]), {"gross": "100", "fees": "90", "costs": "20"}
    )
    assert bad.status_code == 400 and NegotiationEntry.objects.count() == 2


def test_ask_for_lien_amount(client, attorney, specialist, world):
    case = world["mine"]
    response = _login(client, attorney).post(reverse("portal:lien-amount", args=[case.pk]))
    assert response.status_code == 302
    activity = Activity.objects.get(case=case, kind=Activity.Kind.PORTAL)
    assert activity.direction == Activity.Direction.INBOUND and activity.created_by == attorney
    assert Notification.objects.filter(user=specialist, kind="portal_lien_request").exists()


def test_upload_checks_content(client, attorney, world):
    case = world["mine"]
    _login(client, attorney)
    url = reverse("portal:upload", args=[case.pk])
    disguised = SimpleUploadedFile(
        "report.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf"
    )
    response = client.post(url, {"kind": "police_report", "file": disguised})
    assert response.status_code == 400 and b"checked by content" in response.content
    assert not case.documents.filter(uploaded_by=attorney).exists()
    good = SimpleUploadedFile("report.pdf", PDF, content_type="application/pdf")
    assert client.post(url, {"kind": "police_report", "file": good}).status_code == 302
    assert case.documents.filter(uploaded_by=attorney, kind="police_report").count() == 1


# ---------------------------------------------------------------------------------------------
# Query counts
# ---------------------------------------------------------------------------------------------


def test_portal_list_queries_bounded(
    client, attorney, specialist, world, django_assert_max_num_queries
):
    for _ in range(5):
        extra = factories.open_case(specialist, factories.member(last="More"))
        factories.attorney_of_record(extra, world["firm"], specialist)
    _login(client, attorney)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("portal:home")).status_code == 200


def test_portal_detail_queries_bounded(client, attorney, world, django_assert_max_num_queries):
    case = world["mine"]
    specialist = case.assigned_to
    from cases import services as case_services

    lines = [
        factories.claim_line(case.member, service_from=date(2025, 3, 10 + n), paid="10.00")
        for n in range(6)
    ]
    case_services.attach_claim_lines(case=case, lines=lines)
    for cc in case.case_claims.filter(included=False):
        case_services.decide_claim(
            case_claim=cc, included=True, reason="Related", decided_by=specialist
        )
    for n in range(3):
        services.report_settlement(case=case, reported_by=attorney, gross=Decimal(100 + n))
        services.create_dispute(
            case=case,
            submitted_by=attorney,
            case_claim_ids=[cc.pk for cc in case.case_claims.all()[: n + 1]],
            reason="x",
        )
    _login(client, attorney)
    with django_assert_max_num_queries(17):
        assert client.get(reverse("portal:case", args=[case.pk])).status_code == 200


# ---------------------------------------------------------------------------------------------
# Referrals of new cases
# ---------------------------------------------------------------------------------------------


def _referral_post(**overrides):
    data = {
        **REFERRAL,
        "client_date_of_birth": "1980-05-17",
        "incident_date": "2025-02-01",
        "program_id": "",
        "representation_letter": _pdf("lor.pdf"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_referral_submitted_and_files_stored_under_random_names(client, extras, attorney):
    _login(client, attorney)
    response = client.post(
        reverse("portal:refer"),
        _referral_post(client_name="Jo Client", authorization=_pdf("Jo Client auth.pdf")),
    )
    assert response.status_code == 302
    referral = Referral.objects.get(client_name="Jo Client")
    assert response.url == reverse("portal:referral", args=[referral.pk])
    assert referral.status == Referral.Status.NEW and referral.firm == extras["firm"]
    assert referral.submitted_by == attorney and referral.history.count() == 1
    for stored in (referral.representation_letter, referral.authorization):
        assert "Jo" not in stored.name and "lor" not in stored.name
    assert referral.representation_letter_type == "application/pdf"
    page = client.get(reverse("portal:refer"))
    assert "Jo Client" in page.content.decode()


def test_referral_requires_letter(client, extras, attorney):
    _login(client, attorney)
    response = client.post(
        reverse("portal:refer"), _referral_post(client_name="No Letter", representation_letter=None)
    )
    assert response.status_code == 400
    assert not Referral.objects.filter(client_name="No Letter").exists()


def test_referral_refuses_disguised_file(client, extras, attorney):
    _login(client, attorney)
    disguised = SimpleUploadedFile(
        "lor.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf"
    )
    response = client.post(
        reverse("portal:refer"),
        _referral_post(client_name="Disguised", representation_letter=disguised),
    )
    assert response.status_code == 400
    assert "checked by content" in response.content.decode()
    assert not Referral.objects.filter(client_name="Disguised").exists()


def test_referral_refuses_future_injury_date(client, extras, attorney):
    _login(client, attorney)
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = client.post(
        reverse("portal:refer"),
        _referral_post(client_name="Future", incident_date=tomorrow.isoformat()),
    )
    assert response.status_code == 400
    assert "cannot be in the future" in response.content.decode()
    assert not Referral.objects.filter(client_name="Future").exists()


def test_other_attorney_cannot_see_or_download_referral(client, extras, attorney2):
    referral = extras["mine_referral"]
    _login(client, attorney2)
    assert client.get(reverse("portal:referral", args=[referral.pk])).status_code == 404
    for which in ("letter", "authorization"):
        url = reverse("portal:referral-file", args=[referral.pk, which])
        assert client.get(url).status_code == 404
    assert "Robin Referred" not in client.get(reverse("portal:refer")).content.decode()


def test_referral_letter_download_logged(client, extras, specialist):
    referral = extras["mine_referral"]
    _login(client, specialist)
    response = client.get(reverse("portal:referral-file", args=[referral.pk, "letter"]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == PDF
    assert PhiAccess.objects.filter(
        user=specialist, subject_type="referral", action=PhiAccess.Action.DOWNLOAD
    ).exists()


def test_referral_open_case_links_matching_member(client, extras, specialist, attorney):
    person = factories.member(program_id="QX-100200")
    referral = services.submit_referral(
        submitted_by=attorney,
        representation_letter=_pdf(),
        program_id="qx100200",
        **REFERRAL,
    )
    _login(client, specialist)
    response = client.get(reverse("portal:referral-open-case", args=[referral.pk]))
    assert response.status_code == 302
    assert response.url == f"{reverse('cases:new')}?member={person.pk}"
    unmatched = extras["mine_referral"]
    response = client.get(reverse("portal:referral-open-case", args=[unmatched.pk]), follow=True)
    assert "Find or create the member first" in response.content.decode()


def test_staff_convert_referral_notifies_firm(client, extras, specialist, attorney):
    referral = extras["mine_referral"]
    colleague = User.objects.create_user(
        username="colleague", role=Role.ATTORNEY, party=extras["firm"], password="x"
    )
    _login(client, specialist)
    queue = client.get(reverse("portal:referrals"))
    assert "Robin Referred" in queue.content.decode()
    bad = client.post(
        reverse("portal:referral-convert", args=[referral.pk]), {"case_number": "NOPE"}
    )
    assert bad.status_code == 400
    response = client.post(
        reverse("portal:referral-convert", args=[referral.pk]),
        {"case_number": extras["mine"].number},
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == Referral.Status.CONVERTED
    assert referral.case == extras["mine"] and referral.decided_by == specialist
    for user in (attorney, colleague):
        note = Notification.objects.get(user=user, kind="portal_referral_decided")
        assert extras["mine"].number in note.title
    again = client.post(
        reverse("portal:referral-decline", args=[referral.pk]), {"note": "Too late"}
    )
    assert again.status_code == 404


def test_staff_decline_referral_needs_note_and_notifies(client, extras, supervisor, attorney):
    referral = extras["mine_referral"]
    _login(client, supervisor)
    url = reverse("portal:referral-decline", args=[referral.pk])
    assert client.post(url, {"note": ""}).status_code == 400
    assert client.post(url, {"note": "Not a Medicaid member."}).status_code == 302
    referral.refresh_from_db()
    assert referral.status == Referral.Status.DECLINED
    assert referral.decision_note == "Not a Medicaid member."
    note = Notification.objects.get(user=attorney, kind="portal_referral_decided")
    assert "declined" in note.title and note.body == "Not a Medicaid member."


def test_auditor_reads_referral_queue_without_actions(client, extras, auditor):
    referral = extras["mine_referral"]
    _login(client, auditor)
    page = client.get(reverse("portal:referrals")).content.decode()
    assert "Robin Referred" in page
    assert reverse("portal:referral-convert", args=[referral.pk]) not in page
    url = reverse("portal:referral-decline", args=[referral.pk])
    assert client.post(url, {"note": "x"}).status_code == 403


# ---------------------------------------------------------------------------------------------
# Attorneys download their own uploads
# ---------------------------------------------------------------------------------------------


def test_attorney_downloads_own_upload(client, extras, attorney):
    document = extras["mine_upload"]
    _login(client, attorney)
    page = client.get(reverse("portal:case", args=[extras["mine"].pk])).content.decode()
    assert reverse("portal:document", args=[document.pk]) in page
    response = client.get(reverse("portal:document", args=[document.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == PDF
    assert PhiAccess.objects.filter(user=attorney, action=PhiAccess.Action.DOWNLOAD).exists()


def test_attorney_cannot_download_other_firms_upload_or_letters(client, extras, attorney):
    _login(client, attorney)
    for document in (extras["theirs_upload"], extras["mine_letter"], extras["theirs_letter"]):
        assert client.get(reverse("portal:document", args=[document.pk])).status_code == 404
