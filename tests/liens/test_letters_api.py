"""The letters API: 202 → pending → ready → PDF; validation; who reaches which document."""

import pytest
from django.core.files.base import ContentFile

from cases.models import Document, Party
from liens import letters
from liens.tasks import render_letter
from recovery.core.models import PhiAccess
from tests import factories
from tests.liens.letter_helpers import build_case, file_lien, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_celery():
    """Tasks sent with .delay() run at once in the test (after commit callbacks fire)."""
    from recovery.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def filed(specialist):
    case, firm, insurer = build_case(specialist)
    file_lien(case, specialist, firm)
    return case, firm, insurer


def _url(case):
    return f"/api/cases/{case.pk}/letters/"


def test_a_letter_is_accepted_rendered_and_downloaded(
    api, filed, specialist, tmp_path, django_capture_on_commit_callbacks
):
    case, firm, _ = filed
    client = api.as_user(specialist)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            _url(case), {"kind": "lien_notice", "recipient": firm.pk}, format="json"
        )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["kind"] == "lien_notice"
    assert body["download_url"] is None
    assert response["Location"] == f"/api/documents/{body['id']}/"
    assert len(callbacks) == 1

    detail = client.get(f"/api/documents/{body['id']}/").json()
    assert detail["status"] == "pending"
    assert client.get(f"/api/documents/{body['id']}/download/").status_code == 409

    result = render_letter.apply(args=[body["id"]], kwargs={"acting_user_id": specialist.pk})
    assert result.get() == "ready"
    detail = client.get(f"/api/documents/{body['id']}/").json()
    assert detail["status"] == "ready"
    assert len(detail["sha256"]) == 64 and detail["pages"] >= 2 and detail["size"] > 1000
    assert detail["recipient"] == firm.pk and detail["ready_at"]

    download = client.get(detail["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert "attachment" in download["Content-Disposition"]
    assert case.number in download["Content-Disposition"]
    assert case.number in pdf_text(b"".join(download.streaming_content), tmp_path)
    logged = PhiAccess.objects.get(user=specialist, action=PhiAccess.Action.DOWNLOAD)
    assert (logged.subject_id, logged.case_id) == (case.member_id, case.pk)
    # History credits the requester for the task's change to ready.
    assert Document.history.filter(id=body["id"], status="ready").first().history_user == specialist


def test_the_commit_callback_runs_the_render_task(
    api, filed, specialist, eager_celery, django_capture_on_commit_callbacks
):
    case, firm, _ = filed
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(specialist).post(
            _url(case), {"kind": "information_request", "recipient": firm.pk}, format="json"
        )
    assert Document.objects.get(pk=response.json()["id"]).status == Document.Status.READY


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "love_letter"}, "kind"),
        ({}, "kind"),
        ({"kind": "general", "body": ""}, "body"),
        ({"kind": "general", "body": "x" * 20_001}, "body"),
        ({"kind": "general", "body": "Hello", "subject": "s" * 151}, "subject"),
        ({"kind": "lien_release"}, "kind"),
        ({"kind": "lien_notice", "recipient": None}, "recipient"),
        ({"kind": "lien_notice", "recipient": 999_999}, "recipient"),
    ],
)
def test_bad_requests_are_400s_naming_the_field(api, filed, specialist, payload, field):
    case, firm, _ = filed
    payload = {"recipient": firm.pk, **payload}
    response = api.as_user(specialist).post(_url(case), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Document.objects.exists()


def test_a_recipient_not_on_the_case_is_refused(api, filed, specialist):
    case, _, _ = filed
    stranger = Party.objects.create(kind=Party.Kind.LAW_FIRM, name="Stranger LLP")
    response = api.as_user(specialist).post(
        _url(case), {"kind": "lien_notice", "recipient": stranger.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["recipient"] == ["That party is not on this case."]


def test_another_teams_case_is_a_404_and_auditors_and_attorneys_cannot_post(
    api, filed, specialist2, auditor, attorney
):
    case, firm, _ = filed
    payload = {"kind": "lien_notice", "recipient": firm.pk}
    assert api.as_user(specialist2).post(_url(case), payload, format="json").status_code == 404
    assert api.as_user(specialist2).get(_url(case)).status_code == 404
    assert api.as_user(auditor).post(_url(case), payload, format="json").status_code == 403
    assert api.as_user(auditor).get(_url(case)).status_code == 200
    assert api.as_user(attorney).post(_url(case), payload, format="json").status_code == 403
    assert (
        api.as_user(specialist2)
        .post("/api/cases/999999/letters/", payload, format="json")
        .status_code
        == 404
    )
    assert not Document.objects.exists()


def test_a_teammate_who_is_not_assigned_gets_a_403(api, filed, team_east):
    from tests.conftest import make_user

    case, firm, _ = filed
    teammate = make_user("teammate", "specialist", team_east)
    response = api.as_user(teammate).post(
        _url(case), {"kind": "lien_notice", "recipient": firm.pk}, format="json"
    )
    assert response.status_code == 403


def _ready(case, recipient, user):
    document = letters.request_letter(
        case=case, kind="information_request", recipient=recipient, requested_by=user
    )
    return letters.render_document(document)


def test_attorneys_download_only_letters_addressed_to_their_firm(
    api, filed, specialist, attorney, attorney2, auditor
):
    case, firm, insurer = filed
    attorney.party = firm
    attorney.save()
    other_case, other_firm, _ = build_case(specialist, firm_name="Other Firm LLP")
    attorney2.party = other_firm
    attorney2.save()
    to_firm = _ready(case, firm, specialist)
    to_insurer = _ready(case, insurer, specialist)
    to_other_firm = _ready(other_case, other_firm, specialist)

    mine = api.as_user(attorney)
    assert mine.get(f"/api/documents/{to_firm.pk}/").json()["title"] == to_firm.title
    download = mine.get(f"/api/documents/{to_firm.pk}/download/")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    for hidden in (to_insurer, to_other_firm):
        assert mine.get(f"/api/documents/{hidden.pk}/").status_code == 404
        assert mine.get(f"/api/documents/{hidden.pk}/download/").status_code == 404
    assert mine.get("/api/documents/999999/").status_code == 404
    assert mine.post(f"/api/documents/{to_firm.pk}/send/").status_code == 403
    assert api.as_user(attorney2).get(f"/api/documents/{to_firm.pk}/").status_code == 404
    assert (
        api.as_user(attorney2).get(f"/api/documents/{to_other_firm.pk}/download/").status_code
        == 200
    )
    # An auditor reads every document but sends none.
    assert api.as_user(auditor).get(f"/api/documents/{to_insurer.pk}/download/").status_code == 200
    assert api.as_user(auditor).post(f"/api/documents/{to_firm.pk}/send/").status_code == 403


def test_an_attorney_at_a_firm_reaches_letters_to_the_firm_and_to_its_attorneys(
    api, filed, specialist, attorney
):
    case, firm, _ = filed
    lawyer = Party.objects.create(kind=Party.Kind.ATTORNEY, name="Jordan Counsel", firm=firm)
    factories.attorney_of_record(case, lawyer, specialist)
    attorney.party = lawyer
    attorney.save()
    to_lawyer = _ready(case, lawyer, specialist)
    to_firm = _ready(case, firm, specialist)
    client = api.as_user(attorney)
    assert client.get(f"/api/documents/{to_lawyer.pk}/download/").status_code == 200
    assert client.get(f"/api/documents/{to_firm.pk}/download/").status_code == 200


def test_attorneys_see_their_firms_uploads_but_not_staff_uploads(api, filed, specialist, attorney):
    from cases.services import upload_document

    case, firm, _ = filed
    attorney.party = firm
    attorney.save()

    def upload(user):
        content = ContentFile(b"%PDF-1.4 test", name="report.pdf")
        return upload_document(case=case, uploaded_by=user, upload=content, title="Report")

    theirs, staff = upload(attorney), upload(specialist)
    client = api.as_user(attorney)
    assert client.get(f"/api/documents/{theirs.pk}/").status_code == 200
    assert client.get(f"/api/documents/{staff.pk}/").status_code == 404


def test_sending_by_api_queues_the_e_mail(
    api, filed, specialist, django_capture_on_commit_callbacks
):
    case, firm, _ = filed
    document = _ready(case, firm, specialist)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.as_user(specialist).post(f"/api/documents/{document.pk}/send/")
    assert response.status_code == 202 and response.json()["delivery"] == "queued"
    assert len(callbacks) == 1
    again = api.as_user(specialist).post(f"/api/documents/{document.pk}/send/")
    assert again.status_code == 409


def test_the_schema_describes_the_letter_endpoints(api, specialist):
    response = api.as_user(specialist).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/cases/{case_id}/letters/" in paths
    assert "/api/documents/{id}/download/" in paths
