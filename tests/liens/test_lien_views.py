from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from liens.models import Lien, LienChange
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(specialist):
    person = factories.member()
    factories.claim_line(person, service_from=date(2025, 3, 1), paid="900.00")
    case = factories.open_case(specialist, person)
    case.firm = factories.law_firm()
    case.link = factories.attorney_of_record(case, case.firm, specialist)
    return case


def test_specialist_creates_and_files_a_lien_from_the_tab(client, case, specialist):
    client.force_login(specialist)
    page = client.get(reverse("liens:case-lien", args=[case.pk]))
    assert page.status_code == 200 and b"Create draft lien" in page.content
    client.post(reverse("liens:create", args=[case.pk]))
    lien = Lien.objects.get(case=case)
    bad = client.post(
        reverse("liens:file", args=[case.pk, lien.pk]),
        {"filed_with": case.link.pk, "filed_on": "2025-06-01", "method": "certified_mail"},
    )
    assert bad.status_code == 400 and b"Certified mail needs its tracking number" in bad.content
    response = client.post(
        reverse("liens:file", args=[case.pk, lien.pk]),
        {
            "filed_with": case.link.pk,
            "filed_on": "2025-06-01",
            "method": "certified_mail",
            "certified_mail_number": "9400100000000000000000",
        },
    )
    assert response.status_code == 302
    lien.refresh_from_db()
    assert lien.status == Lien.Status.FILED and lien.amount == Decimal("900.00")
    assert lien.history.first().history_user == specialist


def test_amendment_requested_on_the_tab_is_approved_by_the_supervisor_only(
    client, case, specialist, supervisor
):
    from liens import services

    lien = services.create_lien(case=case, created_by=specialist)
    services.file_lien(
        lien=lien,
        filed_by=specialist,
        filed_with=case.firm,
        filed_on=date(2025, 6, 1),
        method="email",
    )
    client.force_login(specialist)
    client.post(
        reverse("liens:amend", args=[case.pk, lien.pk]),
        {"new_amount": "1100.00", "reason": "Late claims"},
    )
    change = LienChange.objects.get(lien=lien)
    page = client.get(reverse("liens:case-lien", args=[case.pk]))
    assert b"awaiting approval" in page.content and b"Approve" not in page.content
    assert (
        client.post(
            reverse("liens:decide", args=[case.pk, change.pk]), {"decision": "approve"}
        ).status_code
        == 403
    )
    client.force_login(supervisor)
    assert b"Approve" in client.get(reverse("liens:case-lien", args=[case.pk])).content
    client.post(
        reverse("liens:decide", args=[case.pk, change.pk]), {"decision": "approve", "note": "ok"}
    )
    lien.refresh_from_db()
    assert lien.amount == Decimal("1100.00") and lien.status == Lien.Status.AMENDED


def test_the_tab_refuses_other_teams_attorneys_and_auditor_writes(
    client, case, specialist2, attorney, auditor
):
    client.force_login(specialist2)
    assert client.get(reverse("liens:case-lien", args=[case.pk])).status_code == 404
    client.force_login(attorney)
    assert client.get(reverse("liens:case-lien", args=[case.pk])).status_code == 403
    client.force_login(auditor)
    page = client.get(reverse("liens:case-lien", args=[case.pk]))
    assert page.status_code == 200 and b"Create draft lien" not in page.content
    assert client.post(reverse("liens:create", args=[case.pk])).status_code == 403


def test_the_lien_tab_runs_a_fixed_number_of_queries(
    client, case, specialist, supervisor, django_assert_max_num_queries
):
    from liens import services

    lien = services.create_lien(case=case, created_by=specialist)
    services.file_lien(
        lien=lien,
        filed_by=specialist,
        filed_with=case.firm,
        filed_on=date(2025, 6, 1),
        method="email",
    )
    first = services.request_amendment(
        lien=lien, requested_by=specialist, new_amount=Decimal("950"), reason="x"
    )
    services.approve_change(change=first, approved_by=supervisor)
    client.force_login(specialist)
    with django_assert_max_num_queries(25) as few:
        client.get(reverse("liens:case-lien", args=[case.pk]))
    for n in range(4):
        change = services.request_amendment(
            lien=lien, requested_by=specialist, new_amount=Decimal(1000 + n), reason="x"
        )
        services.approve_change(change=change, approved_by=supervisor)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("liens:case-lien", args=[case.pk]))


def test_receipt_and_release_sent_are_recorded_and_bad_dates_explained(
    client, case, specialist, supervisor
):
    from liens import services

    lien = services.create_lien(case=case, created_by=specialist)
    services.file_lien(
        lien=lien,
        filed_by=specialist,
        filed_with=case.firm,
        filed_on=date(2025, 6, 1),
        method="email",
    )
    client.force_login(specialist)
    early = client.post(
        reverse("liens:receipt", args=[case.pk, lien.pk]), {"on": "2025-05-01"}, follow=True
    )
    assert b"before the lien was filed" in early.content
    assert (
        client.post(
            reverse("liens:receipt", args=[case.pk, lien.pk]), {"on": "not a date"}
        ).status_code
        == 400
    )
    client.post(reverse("liens:receipt", args=[case.pk, lien.pk]), {"on": "2025-06-05"})
    lien.refresh_from_db()
    assert lien.receipt_signed_on == date(2025, 6, 5)
    sent_early = client.post(
        reverse("liens:release-sent", args=[case.pk, lien.pk]), {"on": "2025-07-01"}, follow=True
    )
    assert b"Only a released or satisfied lien" in sent_early.content
    change = services.request_release(lien=lien, requested_by=specialist, reason="Paid in full")
    services.approve_change(change=change, approved_by=supervisor)
    client.post(reverse("liens:release-sent", args=[case.pk, lien.pk]), {"on": "2025-07-01"})
    lien.refresh_from_db()
    assert lien.release_sent_on == date(2025, 7, 1)


def test_a_bad_amendment_shows_the_form_again_with_its_error(client, case, specialist):
    from liens import services

    lien = services.create_lien(case=case, created_by=specialist)
    services.file_lien(
        lien=lien,
        filed_by=specialist,
        filed_with=case.firm,
        filed_on=date(2025, 6, 1),
        method="email",
    )
    client.force_login(specialist)
    response = client.post(
        reverse("liens:amend", args=[case.pk, lien.pk]), {"new_amount": "900.00", "reason": "same"}
    )
    assert response.status_code == 400 and b"already stands at this amount" in response.content
    assert not LienChange.objects.exists()
