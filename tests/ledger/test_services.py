import threading
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.utils import timezone

from ledger import services
from ledger.models import CaseBalance, Disbursement, Entry, Transaction
from recovery.core.exceptions import Conflict
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = date(2026, 1, 15)


@pytest.fixture
def case(specialist):
    """A lien of $10,000: $6,000 paid at 90% and $4,000 at 60% (DESIGN §4's example)."""
    person = factories.member()
    factories.claim_line(
        person, service_from=date(2025, 3, 1), paid="6000.00", fmap_rate=Decimal("0.9000")
    )
    factories.claim_line(
        person, service_from=date(2025, 3, 2), paid="4000.00", fmap_rate=Decimal("0.6000")
    )
    return factories.open_case(specialist, person)


def deposit(case, user, amount="1000.00", key="chk-1001", **extra):
    return services.post_deposit(
        case=case,
        amount=Decimal(amount),
        received_on=extra.pop("received_on", TODAY),
        payer="Acme Mutual Insurance",
        instrument="check",
        reference=extra.pop("reference", "1001"),
        idempotency_key=key,
        recorded_by=user,
        **extra,
    )


def entry_sums():
    return {
        t.pk: sum(e.amount for e in t.entries.all())
        for t in Transaction.objects.prefetch_related("entries")
    }


def test_a_deposit_posts_a_balanced_transaction_and_raises_the_held_balance(case, specialist):
    dep, created = deposit(case, specialist, "5000.00")
    assert created
    assert services.held_balance(case) == Decimal("5000.00")
    entries = {e.account.code: e.amount for e in dep.transaction.entries.select_related("account")}
    assert entries == {"1000": Decimal("5000.00"), "2000": Decimal("-5000.00")}
    assert set(entry_sums().values()) == {Decimal("0")}


def test_a_repeated_idempotency_key_posts_nothing_new(case, specialist):
    first, created = deposit(case, specialist, "250.00", key="eft-77")
    again, created_again = deposit(case, specialist, "250.00", key="eft-77")
    assert created and not created_again and again.pk == first.pk
    assert Transaction.objects.count() == 1 and services.held_balance(case) == Decimal("250.00")
    with pytest.raises(Conflict):
        deposit(case, specialist, "999.00", key="eft-77")


def test_deposit_validation_names_each_field(case, specialist):
    with pytest.raises(ValidationError) as error:
        services.post_deposit(
            case=case,
            amount=Decimal("-5"),
            received_on=date(2099, 1, 1),
            payer="",
            instrument="barter",
            reference="",
            idempotency_key="",
            recorded_by=specialist,
        )
    assert set(error.value.message_dict) == {
        "amount",
        "received_on",
        "payer",
        "instrument",
        "reference",
        "idempotency_key",
    }
    assert not Transaction.objects.exists()


def test_disbursement_needs_a_supervisor_who_did_not_request_it(
    case, specialist, supervisor, supervisor2
):
    deposit(case, specialist, "1000.00")
    request = services.request_disbursement(
        case=case,
        amount=Decimal("400.00"),
        payee="Acme",
        purpose="mco_share",
        requested_by=specialist,
    )
    with pytest.raises(PermissionDenied):
        services.approve_disbursement(disbursement=request, approved_by=specialist)
    own = services.request_disbursement(
        case=case,
        amount=Decimal("100.00"),
        payee="Member",
        purpose="member_refund",
        requested_by=supervisor,
    )
    with pytest.raises(PermissionDenied):
        services.approve_disbursement(disbursement=own, approved_by=supervisor)
    services.approve_disbursement(disbursement=own, approved_by=supervisor2)
    services.approve_disbursement(disbursement=request, approved_by=supervisor)
    assert services.held_balance(case) == Decimal("500.00")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_disbursement SET decided_by_id = requested_by_id WHERE id = %s",
            [request.pk],
        )


def test_overdrawing_is_refused_on_request_and_on_approval(case, specialist, supervisor):
    deposit(case, specialist, "300.00")
    with pytest.raises(Conflict):
        services.request_disbursement(
            case=case,
            amount=Decimal("300.01"),
            payee="x",
            purpose="member_refund",
            requested_by=specialist,
        )
    first = services.request_disbursement(
        case=case,
        amount=Decimal("200.00"),
        payee="x",
        purpose="member_refund",
        requested_by=specialist,
    )
    second = services.request_disbursement(
        case=case,
        amount=Decimal("200.00"),
        payee="x",
        purpose="member_refund",
        requested_by=specialist,
    )
    services.approve_disbursement(disbursement=first, approved_by=supervisor)
    with pytest.raises(Conflict):
        services.approve_disbursement(disbursement=second, approved_by=supervisor)
    second.refresh_from_db()
    assert second.status == Disbursement.Status.REQUESTED
    assert services.held_balance(case) == Decimal("100.00")


def test_program_recovery_splits_state_and_federal_share_by_each_lines_rate(
    case, specialist, supervisor
):
    # Half of the $10,000 lien: 3,000 of the 90% line (2,700 federal) + 2,000 of the 60% line (1,200).
    deposit(case, specialist, "5000.00")
    request = services.request_disbursement(
        case=case,
        amount=Decimal("5000.00"),
        payee="State Medicaid Agency",
        purpose="program_recovery",
        requested_by=specialist,
    )
    posted = services.approve_disbursement(disbursement=request, approved_by=supervisor)
    assert (posted.federal_share, posted.state_share) == (Decimal("3900.00"), Decimal("1100.00"))
    entries = {
        e.account.code: e.amount for e in posted.transaction.entries.select_related("account")
    }
    assert entries == {
        "2000": Decimal("5000.00"),
        "4000": Decimal("-1100.00"),
        "2100": Decimal("-3900.00"),
    }
    assert services.held_balance(case) == Decimal("0.00")


def test_the_split_is_exact_to_the_cent(specialist, supervisor):
    person = factories.member()
    for paid, rate in (("333.33", "0.5000"), ("333.33", "0.7333"), ("333.34", "0.9000")):
        factories.claim_line(
            person, service_from=date(2025, 3, 1), paid=paid, fmap_rate=Decimal(rate)
        )
    case = factories.open_case(specialist, person)
    deposit(case, specialist, "100.00")
    request = services.request_disbursement(
        case=case,
        amount=Decimal("100.00"),
        payee="Agency",
        purpose="program_recovery",
        requested_by=specialist,
    )
    posted = services.approve_disbursement(disbursement=request, approved_by=supervisor)
    # Parts 33.33 / 33.33 / 33.34 → federal 16.67 + 24.44 + 30.01 = 71.12.
    assert posted.federal_share == Decimal("71.12") and posted.state_share == Decimal("28.88")
    assert posted.federal_share + posted.state_share == Decimal("100.00")


def test_the_program_never_recovers_more_than_it_paid(case, specialist, supervisor):
    deposit(case, specialist, "12000.00")
    request = services.request_disbursement(
        case=case,
        amount=Decimal("10000.01"),
        payee="Agency",
        purpose="program_recovery",
        requested_by=specialist,
    )
    with pytest.raises(ValidationError):
        services.approve_disbursement(disbursement=request, approved_by=supervisor)


def test_entries_cannot_be_updated_or_deleted_in_the_database(case, specialist):
    dep, _ = deposit(case, specialist)
    entry = dep.transaction.entries.first()
    for sql in (
        "UPDATE ledger_entry SET amount = 1 WHERE id = %s",
        "DELETE FROM ledger_entry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    for sql in (
        "UPDATE ledger_transaction SET memo = 'x' WHERE id = %s",
        "DELETE FROM ledger_transaction WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [dep.transaction_id])
    assert Entry.objects.get(pk=entry.pk).amount == entry.amount


def test_an_unbalanced_transaction_is_refused_at_commit(case, specialist):
    txn = Transaction.objects.create(kind="deposit", case=case, memo="bad", posted_by=specialist)
    cash = services._accounts()["1000"]
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        Entry.objects.create(transaction=txn, account=cash, amount=Decimal("10.00"))
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_the_service_refuses_to_write_an_unbalanced_transaction(case, specialist):
    with pytest.raises(ValueError):
        services._post(
            kind="deposit",
            case=case,
            memo="x",
            posted_by=specialist,
            lines=[("1000", Decimal("1"), None)],
        )


def test_a_reversal_mirrors_the_original_once_and_restores_the_balance(
    case, specialist, supervisor
):
    dep, _ = deposit(case, specialist, "700.00")
    with pytest.raises(PermissionDenied):
        services.reverse_transaction(
            original=dep.transaction, reversed_by=specialist, reason="typo"
        )
    reversal = services.reverse_transaction(
        original=dep.transaction, reversed_by=supervisor, reason="Bounced check"
    )
    assert reversal.reverses == dep.transaction
    assert sorted(e.amount for e in reversal.entries.all()) == [
        Decimal("-700.00"),
        Decimal("700.00"),
    ]
    assert services.held_balance(case) == Decimal("0.00")
    dep.refresh_from_db()
    assert dep.reversed_at is not None
    with pytest.raises(Conflict):
        services.reverse_transaction(
            original=dep.transaction, reversed_by=supervisor, reason="again"
        )


def test_a_deposit_already_disbursed_cannot_be_reversed_into_a_negative_balance(
    case, specialist, supervisor
):
    dep, _ = deposit(case, specialist, "500.00")
    request = services.request_disbursement(
        case=case,
        amount=Decimal("500.00"),
        payee="x",
        purpose="member_refund",
        requested_by=specialist,
    )
    services.approve_disbursement(disbursement=request, approved_by=supervisor)
    with pytest.raises(Conflict):
        services.reverse_transaction(
            original=dep.transaction, reversed_by=supervisor, reason="late bounce"
        )
    disbursement = Disbursement.objects.get(pk=request.pk)
    services.reverse_transaction(
        original=disbursement.transaction, reversed_by=supervisor, reason="check not cashed"
    )
    assert services.held_balance(case) == Decimal("500.00")
    balance = CaseBalance.objects.get(case=case)
    assert (balance.received, balance.disbursed) == (Decimal("500.00"), Decimal("0.00"))


def test_rejected_and_cancelled_requests_are_kept(case, specialist, supervisor):
    deposit(case, specialist, "100.00")
    one = services.request_disbursement(
        case=case,
        amount=Decimal("10.00"),
        payee="x",
        purpose="member_refund",
        requested_by=specialist,
    )
    two = services.request_disbursement(
        case=case,
        amount=Decimal("10.00"),
        payee="x",
        purpose="member_refund",
        requested_by=specialist,
    )
    with pytest.raises(ValidationError):
        services.reject_disbursement(disbursement=one, rejected_by=supervisor, note="")
    services.reject_disbursement(disbursement=one, rejected_by=supervisor, note="Wrong payee")
    services.cancel_disbursement(disbursement=two, cancelled_by=specialist)
    assert set(Disbursement.objects.values_list("status", flat=True)) == {"rejected", "cancelled"}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_parallel_approvals_of_100_on_1000_post_exactly_ten(specialist, supervisor):
    person = factories.member()
    factories.claim_line(person, service_from=date(2025, 3, 1), paid="5000.00")
    case = factories.open_case(specialist, person)
    deposit(case, specialist, "1000.00")
    requests = [
        services.request_disbursement(
            case=case,
            amount=Decimal("100.00"),
            payee="Refund",
            purpose="member_refund",
            requested_by=specialist,
        )
        for _ in range(20)
    ]
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lowest: list[Decimal] = []

    def approve(request):
        try:
            barrier.wait()
            services.approve_disbursement(disbursement=request, approved_by=supervisor)
            outcomes.append("posted")
        except Conflict:
            outcomes.append("refused")
        finally:
            lowest.append(CaseBalance.objects.get(case=case).held)
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes.count("posted") == 10 and outcomes.count("refused") == 10
    assert CaseBalance.objects.get(case=case).held == Decimal("0.00")
    assert min(lowest) >= Decimal("0.00")
    assert Disbursement.objects.filter(status="approved").count() == 10
    assert Entry.objects.filter(account__code="2000", case=case).count() == 11


def test_an_installment_deposit_marks_the_installment_paid(case, specialist):
    from settlements import services as settlement_services

    settlement = settlement_services.propose_settlement(
        case=case,
        proposed_by=specialist,
        gross_settlement=Decimal("100000.00"),
        attorney_fees=Decimal("33333.33"),
        costs=Decimal("1666.67"),
    )
    arrangement = settlement_services.arrange_installments(
        settlement=settlement,
        arranged_by=specialist,
        installments=2,
        first_due_on=timezone.localdate(),
    )
    first = arrangement.installments.get(number=1)
    dep, _ = deposit(
        case, specialist, str(first.amount), key="inst-1", settlement=settlement, installment=first
    )
    first.refresh_from_db()
    assert first.status == "paid" and dep.installment == first


def test_the_case_api_shows_the_held_balance(api, case, specialist):
    assert api.as_user(specialist).get(f"/api/cases/{case.pk}/").json()["held_balance"] == "0.00"
    deposit(case, specialist, "1234.56")
    assert api.as_user(specialist).get(f"/api/cases/{case.pk}/").json()["held_balance"] == "1234.56"
    listed = api.as_user(specialist).get("/api/cases/").json()["results"]
    assert listed[0]["held_balance"] == "1234.56"
