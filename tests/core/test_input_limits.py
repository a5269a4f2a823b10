"""Bounded input: API pages, free-text lengths, uploads checked by content and size on every
upload endpoint, and the security headers of pages."""

# ruff: noqa: F811  (the `world` fixture is imported, then named by the tests that use it)

import importlib
import inspect
import re

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework import serializers

from cases import services as case_services
from cases.models import Activity, Document, Member, Party
from recovery.portal.models import Dispute, Referral
from tests.portal.test_portal import PDF, REFERRAL, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

HUGE = "x" * 100_001
DISGUISED = b"MZ\x90\x00 an executable named like a PDF"
OVERSIZE = b"%PDF-1.7\n" + b"0" * case_services.MAX_UPLOAD_BYTES

# ---------------------------------------------------------------------------------------------
# API page size
# ---------------------------------------------------------------------------------------------


def test_a_huge_page_size_is_capped(api, specialist):
    Party.objects.bulk_create(
        Party(kind=Party.Kind.LIABILITY_INSURER, name=f"Insurer {n:03d}") for n in range(230)
    )
    api.as_user(specialist)
    page = api.get("/api/parties/", {"page_size": 1_000_000}).json()
    assert page["count"] == 230 and len(page["results"]) == 200
    for bad in ("-5", "abc", "0"):
        answer = api.get("/api/parties/", {"page_size": bad})
        assert answer.status_code == 200 and len(answer.json()["results"]) == 50


# ---------------------------------------------------------------------------------------------
# Free-text lengths
# ---------------------------------------------------------------------------------------------

SERIALIZER_MODULES = [
    "cases.serializers",
    "cases.api",
    "liens.api",
    "liens.letters_api",
    "settlements.serializers",
    "settlements.api",
    "ledger.serializers",
    "ledger.api",
    "recovery.core.api",
]
FORM_MODULES = [
    "cases.forms",
    "liens.views",
    "liens.lien_views",
    "settlements.forms",
    "settlements.views",
    "ledger.forms",
    "recovery.portal.forms",
    "recovery.core.forms",
]
# Written by the server only (output serializers).
UNBOUNDED_ON_PURPOSE = {
    "UserRefSerializer.name",
    "UserOutputSerializer.name",
    "SettlementStepSerializer.label",
    "SettlementStepSerializer.formula",
    "SettlementStepSerializer.citation",
}


def _classes(modules, base):
    for name in modules:
        module = importlib.import_module(name)
        for cls in vars(module).values():
            if inspect.isclass(cls) and issubclass(cls, base) and cls.__module__ == name:
                yield cls


def test_every_free_text_input_has_a_length_limit():
    unbounded = []
    for cls in _classes(SERIALIZER_MODULES, serializers.Serializer):
        for name, field in cls().fields.items():
            if (
                not field.read_only
                and isinstance(field, serializers.CharField)
                and not isinstance(field, serializers.RegexField)
                and field.max_length is None
            ):
                unbounded.append(f"{cls.__name__}.{name}")
    for cls in _classes(FORM_MODULES, forms.BaseForm):
        for name, field in cls.base_fields.items():
            if isinstance(field, forms.CharField) and field.max_length is None:
                unbounded.append(f"{cls.__name__}.{name}")
    assert set(unbounded) <= UNBOUNDED_ON_PURPOSE, sorted(set(unbounded) - UNBOUNDED_ON_PURPOSE)


def test_too_long_text_through_the_api_is_a_400_and_nothing_is_written(api, specialist, world):
    case = world["mine"]
    api.as_user(specialist)
    too_long = [
        (
            "post",
            "/api/members/",
            {"program_id": "MC1", "first_name": "A", "last_name": "B"},
            "address_line1",
        ),
        (
            "post",
            "/api/members/",
            {"program_id": "MC2", "first_name": "A", "last_name": "B"},
            "phone",
        ),
        ("post", "/api/members/", {"program_id": "MC3", "last_name": "B"}, "first_name"),
        ("post", f"/api/cases/{case.pk}/activities/", {"kind": "call", "subject": "S"}, "body"),
        ("patch", f"/api/cases/{case.pk}/", {}, "incident_description"),
        ("post", "/api/parties/", {"kind": "law_firm", "name": "N"}, "notes"),
        ("post", "/api/negotiation/", {"case": case.pk, "kind": "offer"}, "note"),
    ]
    members, activities = Member.objects.count(), Activity.objects.count()
    for method, url, body, field in too_long:
        response = getattr(api, method)(url, {**body, field: HUGE}, format="json")
        assert response.status_code == 400, (url, field, response.status_code)
        assert field in response.json(), (url, response.json())
    assert Member.objects.count() == members and Activity.objects.count() == activities
    case.refresh_from_db()
    assert case.incident_description == ""
    assert not Party.objects.filter(notes__startswith="xxx").exists()


def test_too_long_text_in_a_form_is_a_form_error_not_a_truncation(
    client, specialist, attorney, world
):
    case = world["mine"]
    client.force_login(specialist)
    response = client.post(
        reverse("cases:activity-add", args=[case.pk]),
        {"kind": "call", "direction": "outbound", "subject": "Called", "body": HUGE},
    )
    assert response.status_code == 400 and "at most" in response.content.decode()
    assert not case.activities.filter(subject="Called").exists()
    response = client.post(reverse("cases:ask", args=[case.pk]), {"question": HUGE})
    assert response.status_code == 400
    assert not case.questions.exists()
    client.force_login(attorney)
    data = {
        **REFERRAL,
        "client_date_of_birth": "1980-05-17",
        "incident_date": "2025-02-01",
        "description": HUGE,
        "representation_letter": SimpleUploadedFile("lor.pdf", PDF),
    }
    response = client.post(reverse("portal:refer"), data)
    assert response.status_code == 400 and not Referral.objects.exists()


# ---------------------------------------------------------------------------------------------
# Uploads: content and size, on every upload endpoint
# ---------------------------------------------------------------------------------------------


def _upload(client, persona, world, endpoint: str, content: bytes):
    """POST `content` as a PDF-named file to one of the upload endpoints."""
    case = world["mine"]
    file = SimpleUploadedFile("statement.pdf", content, content_type="application/pdf")
    client.force_login(persona)
    if endpoint == "staff":
        return client.post(
            reverse("cases:upload", args=[case.pk]), {"file": file, "kind": "upload"}
        )
    if endpoint == "portal":
        return client.post(
            reverse("portal:upload", args=[case.pk]), {"file": file, "kind": "upload"}
        )
    if endpoint == "dispute":
        line = case.case_claims.filter(included=True).first()
        return client.post(
            reverse("portal:dispute", args=[case.pk]),
            {"lines": [line.pk], "reason": "Not related", "file": file},
        )
    data = {**REFERRAL, "client_date_of_birth": "1980-05-17", "incident_date": "2025-02-01"}
    if endpoint == "referral":
        data["representation_letter"] = file
    else:  # the referral's optional second file
        data["representation_letter"] = SimpleUploadedFile("lor.pdf", PDF)
        data["authorization"] = file
    return client.post(reverse("portal:refer"), data)


ENDPOINTS = ["staff", "portal", "dispute", "referral", "referral authorization"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("content", "message"),
    [(DISGUISED, "checked by content"), (OVERSIZE, "at most 20 MB"), (b"", "")],
    ids=["disguised", "oversize", "empty"],
)
def test_every_upload_endpoint_refuses_disguised_oversize_and_empty_files(
    client, request, specialist, attorney, world, endpoint, content, message
):
    persona = specialist if endpoint == "staff" else attorney
    documents = Document.objects.count()
    response = _upload(client, persona, world, endpoint, content)
    assert response.status_code == 400, response.status_code
    assert message in response.content.decode()
    assert Document.objects.count() == documents
    assert not Dispute.objects.exists() and not Referral.objects.exists()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_upload_endpoint_takes_a_real_pdf(client, specialist, attorney, world, endpoint):
    persona = specialist if endpoint == "staff" else attorney
    response = _upload(client, persona, world, endpoint, PDF)
    assert response.status_code == 302, response.status_code


def test_the_bank_statement_upload_refuses_disguised_and_oversize_files(client, supervisor):
    from ledger import reconciliation
    from ledger.models import BankStatement

    client.force_login(supervisor)
    url = reverse("ledger:reconciliation")
    disguised = SimpleUploadedFile("march.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    oversize = SimpleUploadedFile(
        "march.csv", b"date,amount,reference,description\n" + b"x" * reconciliation.MAX_BYTES
    )
    for upload, message in ((disguised, ""), (oversize, "at most 5 MB")):
        response = client.post(url, {"file": upload})
        assert response.status_code == 400 and message in response.content.decode()
    assert not BankStatement.objects.exists()


def test_the_claims_import_refuses_an_oversize_file(client, specialist, monkeypatch):
    from cases import views_import
    from cases.models import ImportBatch

    monkeypatch.setattr(views_import, "MAX_IMPORT_BYTES", 1024 * 1024)
    client.force_login(specialist)
    big = SimpleUploadedFile("claims.csv", b"member_id\n" + b"M1\n" * (1024 * 1024 // 3 + 1))
    response = client.post(reverse("cases:import"), {"file": big})
    assert response.status_code == 400 and "at most 1 MB" in response.content.decode()
    assert not ImportBatch.objects.exists()


# ---------------------------------------------------------------------------------------------
# Security headers
# ---------------------------------------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


@pytest.mark.parametrize(
    ("persona", "url"),
    [
        (None, "login"),
        ("specialist", "cases:list"),
        ("specialist", "cases:new"),
        ("supervisor", "dashboard:index"),
        ("attorney", "portal:home"),
        ("specialist", "api-docs"),
    ],
)
def test_pages_send_a_csp_without_inline_script_and_deny_framing(
    client, request, world, persona, url
):
    if persona:
        client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse(url))
    assert response.status_code == 200
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"].split() == ["'self'"]
    assert "'unsafe-inline'" not in policy.get("default-src", "")
    assert "frame-ancestors" in policy and policy["frame-ancestors"].strip() == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    body = response.content.decode()
    assert not INLINE_SCRIPT.search(body), INLINE_SCRIPT.search(body)
    assert not INLINE_HANDLER.search(body), INLINE_HANDLER.search(body)


def test_hsts_is_sent_over_tls_only(client, settings, specialist):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    client.force_login(specialist)
    secure = client.get(reverse("home"), secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in client.get(reverse("home"))


def test_production_settings_turn_hsts_on(settings):
    # The test run reads the production defaults (DEBUG false): a year, subdomains included.
    assert settings.SECURE_HSTS_SECONDS == 31_536_000
    assert settings.SECURE_HSTS_INCLUDE_SUBDOMAINS is True
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE


# ---------------------------------------------------------------------------------------------
# Passwords
# ---------------------------------------------------------------------------------------------


def test_an_overlong_password_is_refused_before_it_is_checked(client, specialist):
    from axes.models import AccessAttempt

    from recovery.core.forms import PASSWORD_MAX_LENGTH

    overlong = "p" * (PASSWORD_MAX_LENGTH + 1)
    page = client.get(reverse("login")).content.decode()
    assert f'maxlength="{PASSWORD_MAX_LENGTH}"' in page
    response = client.post(reverse("login"), {"username": specialist.username, "password": HUGE})
    assert response.status_code == 200
    assert f"at most {PASSWORD_MAX_LENGTH} characters" in response.content.decode()
    # Nothing authenticated it: no failed attempt is counted against the account.
    assert not AccessAttempt.objects.exists()
    assert "_auth_user_id" not in client.session

    client.force_login(specialist)
    response = client.post(
        reverse("password_change"),
        {"old_password": overlong, "new_password1": overlong, "new_password2": overlong},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) >= {"old_password", "new_password1"}
    specialist.refresh_from_db()
    assert not specialist.check_password(overlong)
