from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cases.models import Case, CaseParty
from liens import services
from liens.models import Lien, LienChange
from recovery.core.exceptions import Conflict
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def case_with_lines(specialist):
    person = factories.member()
    factories.claim_line(person, service_from=date(2025, 3, 1), paid="1000.00")
    factories.claim_line(person, service_from=date(2025, 3, 5), paid="250.50")
    case = factories.open_case(specialist, person, incident_date=date(2025, 3, 1))
    firm = factories.law_firm()
    factories.attorney_of_record(case, firm, specialist)
    return case, firm


def filed(case, firm, user, **extra):
    lien = services.create_lien(case=case, created_by=user)
    return services.file_lien(
        lien=lien,
        filed_by=user,
        filed_with=firm,
        filed_on=extra.pop("filed_on", date(2025, 6, 1)),
        method=extra.pop("method", "email"),
        **extra,
    )


def test_filing_snapshots_the_included_lines_and_moves_the_case_to_notice(
    case_with_lines, specialist
):
    case, firm = case_with_lines
    lien = filed(case, firm, specialist, expires_on=date(2026, 6, 1))
    assert lien.status == Lien.Status.FILED
    assert lien.amount == lien.original_amount == Decimal("1250.50")
    assert lien.filed_with_kind == Lien.FiledWith.ATTORNEY
    assert sorted(lien.filing_lines.values_list("paid_amount", flat=True)) == [
        Decimal("250.50"),
        Decimal("1000.00"),
    ]
    case.refresh_from_db()
    assert case.status == Case.Status.NOTICE
    assert case.deadlines.filter(kind="lien_expiry", due_date=date(2026, 6, 1)).exists()
    assert lien.history.first().history_user is None or lien.history.first().status == "filed"


def test_filing_validates_every_field(case_with_lines, specialist):
    case, firm = case_with_lines
    lien = services.create_lien(case=case, created_by=specialist)
    stranger = factories.law_firm("Not On This Case LLP")
    with pytest.raises(ValidationError) as error:
        services.file_lien(
            lien=lien,
            filed_by=specialist,
            filed_with=stranger,
            filed_on=date(2099, 1, 1),
            method="certified_mail",
            expires_on=date(2000, 1, 1),
        )
    assert set(error.value.message_dict) == {
        "filed_with",
        "filed_on",
        "certified_mail_number",
        "expires_on",
    }
    lien.refresh_from_db()
    assert lien.status == Lien.Status.DRAFT and not lien.filing_lines.exists()


def test_a_case_has_one_open_lien_at_a_time(case_with_lines, specialist):
    case, firm = case_with_lines
    services.create_lien(case=case, created_by=specialist)
    with pytest.raises(Conflict):
        services.create_lien(case=case, created_by=specialist)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lien.objects.create(case=case, status=Lien.Status.FILED)


def test_amendment_takes_effect_only_on_approval_by_another_supervisor(
    case_with_lines, specialist, supervisor
):
    case, firm = case_with_lines
    lien = filed(case, firm, specialist)
    change = services.request_amendment(
        lien=lien,
        requested_by=specialist,
        new_amount=Decimal("1400.00"),
        reason="New hospital claims",
    )
    lien.refresh_from_db()
    assert lien.amount == Decimal("1250.50")
    with pytest.raises(PermissionDenied):
        services.approve_change(change=change, approved_by=specialist)
    with pytest.raises(Conflict):
        services.request_release(lien=lien, requested_by=specialist, reason="x")
    services.approve_change(change=change, approved_by=supervisor, note="Checked")
    lien.refresh_from_db()
    assert lien.status == Lien.Status.AMENDED and lien.amount == Decimal("1400.00")
    assert lien.filing_lines.filter(change=change).count() == 2
    change.refresh_from_db()
    assert (change.old_amount, change.new_amount, change.decided_by) == (
        Decimal("1250.50"),
        Decimal("1400.00"),
        supervisor,
    )
    assert specialist.notifications.filter(title__contains="approved").exists()


def test_a_supervisor_never_approves_their_own_request(
    case_with_lines, specialist, supervisor, supervisor2
):
    case, firm = case_with_lines
    lien = filed(case, firm, supervisor)
    change = services.request_withdrawal(lien=lien, requested_by=supervisor, reason="Wrong member")
    with pytest.raises(PermissionDenied):
        services.approve_change(change=change, approved_by=supervisor)
    services.approve_change(change=change, approved_by=supervisor2)
    lien.refresh_from_db()
    assert lien.status == Lien.Status.WITHDRAWN


def test_the_database_refuses_a_self_decided_change(case_with_lines, specialist):
    case, firm = case_with_lines
    lien = filed(case, firm, specialist)
    change = services.request_withdrawal(lien=lien, requested_by=specialist, reason="x")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE liens_lienchange SET decided_by_id = requested_by_id WHERE id = %s", [change.pk]
        )


def test_partial_then_full_release(case_with_lines, specialist, supervisor):
    case, firm = case_with_lines
    lien = filed(case, firm, specialist)
    with pytest.raises(ValidationError):
        services.request_release(
            lien=lien, requested_by=specialist, amount=Decimal("5000"), reason="too much"
        )
    partial = services.request_release(
        lien=lien, requested_by=specialist, amount=Decimal("250.50"), reason="Disputed line"
    )
    services.approve_change(change=partial, approved_by=supervisor)
    lien.refresh_from_db()
    assert lien.status == Lien.Status.PARTIALLY_RELEASED and lien.outstanding == Decimal("1000.00")
    full = services.request_release(lien=lien, requested_by=specialist, reason="Paid in full")
    assert full.full_release and full.release_amount == Decimal("1000.00")
    services.approve_change(change=full, approved_by=supervisor)
    lien.refresh_from_db()
    assert lien.status == Lien.Status.RELEASED and lien.released_on == timezone.localdate()
    with pytest.raises(Conflict):
        services.request_amendment(
            lien=lien, requested_by=specialist, new_amount=Decimal("1"), reason="x"
        )
    services.record_release_sent(lien=lien, sent_on=timezone.localdate(), recorded_by=specialist)


def test_rejection_needs_a_note_and_leaves_the_lien(case_with_lines, specialist, supervisor):
    case, firm = case_with_lines
    lien = filed(case, firm, specialist)
    change = services.request_amendment(
        lien=lien, requested_by=specialist, new_amount=Decimal("900"), reason="Lower"
    )
    with pytest.raises(ValidationError):
        services.reject_change(change=change, rejected_by=supervisor, note="")
    services.reject_change(change=change, rejected_by=supervisor, note="Lines are related")
    lien.refresh_from_db()
    assert lien.amount == Decimal("1250.50") and lien.status == Lien.Status.FILED
    with pytest.raises(Conflict):
        services.approve_change(change=change, approved_by=supervisor)


def test_lien_amount_as_of_any_date(case_with_lines, specialist, supervisor):
    case, firm = case_with_lines
    lien = filed(case, firm, specialist, filed_on=date(2025, 6, 1))
    change = services.request_amendment(
        lien=lien, requested_by=specialist, new_amount=Decimal("1500.00"), reason="More claims"
    )
    services.approve_change(change=change, approved_by=supervisor)
    LienChange.objects.filter(pk=change.pk).update(
        decided_at=timezone.make_aware(timezone.datetime(2025, 8, 1, 12))
    )
    lien = Lien.objects.prefetch_related("changes").get(pk=lien.pk)
    assert lien.amount_as_of(date(2025, 5, 31)) is None
    assert lien.amount_as_of(date(2025, 7, 31)) == Decimal("1250.50")
    assert lien.amount_as_of(date(2025, 8, 1)) == Decimal("1500.00")
    assert lien.amount_as_of(timezone.localdate() + timedelta(days=1)) == Decimal("1500.00")


def test_filing_needs_included_lines_and_an_editor(specialist, specialist2):
    case = factories.open_case(specialist)
    firm = factories.law_firm()
    factories.attorney_of_record(case, firm, specialist)
    lien = services.create_lien(case=case, created_by=specialist)
    with pytest.raises(ValidationError) as error:
        services.file_lien(
            lien=lien,
            filed_by=specialist,
            filed_with=firm,
            filed_on=date(2025, 6, 1),
            method="email",
        )
    assert "amount" in error.value.message_dict
    with pytest.raises(PermissionDenied):
        services.create_lien(case=case, created_by=specialist2)
    assert CaseParty.objects.count() == 1
