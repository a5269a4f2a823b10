"""The ledger API of DESIGN §6: shapes, status codes, roles and isolation."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger import services
from ledger.models import CaseBalance, Deposit, Disbursement, Transaction
from tests import factories

pytestmark = pytest.mark.django_db

DEPOSITS = "/api/ledger/deposits/"
DISBURSEMENTS = "/api/ledger/disbursements/"
TRANSACTIONS = "/api/ledger/transactions/"


@pytest.fixture
def case(specialist):
    """$6,000 paid at 90% and $4,000 at 60%: a program recovery splits by each line's rate."""
    person = factories.member()
    factories.claim_line(
        person, service_from=date(2025, 3, 1), paid="6000.00", fmap_rate=Decimal("0.9000")
    )
    factories.claim_line(
        person, service_from=date(2025, 3, 2), paid="4000.00", fmap_rate=Decimal("0.6000")
    )
    return factories.open_case(specialist, person)


@pytest.fixture
def west_case(specialist2):
    return factories.open_case(specialist2)


def deposit_body(case, **extra) -> dict:
    return {
        "case": getattr(case, "pk", case),
        "amount": "1000.00",
        "received_on": "2026-01-15",
        "payer": "Acme Mutual Insurance",
        "instrument": "check",
        "reference": "100234",
        "idempotency_key": "chk-100234",
        **extra,
    }


def fund(case, user, amount="1000.00", key="seed-1"):
    return services.post_deposit(
        case=case,
        amount=Decimal(amount),
        received_on=date(2026, 1, 10),
        payer="Acme",
        instrument="eft",
        reference=key,
        idempotency_key=key,
        recorded_by=user,
    )[0]


def request(case, user, amount="400.00", purpose="mco_share"):
    return services.request_disbursement(
        case=case,
        amount=Decimal(amount),
        payee="Gulf Health Plan",
        purpose=purpose,
        requested_by=user,
    )


# ---------------------------------------------------------------------------------------------
# Deposits
# ---------------------------------------------------------------------------------------------


def test_a_deposit_is_created_once_and_a_repeat_answers_the_original(api, case, specialist):
    client = api.as_user(specialist)
    first = client.post(DEPOSITS, deposit_body(case), format="json")
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["amount"] == "1000.00" and body["case"] == case.pk
    assert body["case_number"] == case.number and body["reversed"] is False
    again = client.post(DEPOSITS, deposit_body(case), format="json")
    assert again.status_code == 200
    assert again.json() == body
    assert Deposit.objects.count() == 1 and Transaction.objects.count() == 1
    assert CaseBalance.objects.get(case=case).held == Decimal("1000.00")


def test_a_used_key_with_other_figures_is_a_conflict(api, case, specialist):
    client = api.as_user(specialist)
    client.post(DEPOSITS, deposit_body(case), format="json")
    response = client.post(DEPOSITS, deposit_body(case, amount="999.00"), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_mismatch"
    assert Transaction.objects.count() == 1


def test_bad_deposit_input_is_a_400_naming_each_field(api, case, specialist):
    response = api.as_user(specialist).post(
        DEPOSITS,
        {
            "case": case.pk,
            "amount": "12.345",
            "received_on": "yesterday",
            "payer": "",
            "instrument": "barter",
            "reference": "",
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {
        "amount",
        "received_on",
        "payer",
        "instrument",
        "reference",
        "idempotency_key",
    }
    assert not Transaction.objects.exists()


def test_the_service_rules_come_back_as_field_errors(api, case, specialist):
    future = (timezone.localdate().replace(year=timezone.localdate().year + 1)).isoformat()
    response = api.as_user(specialist).post(
        DEPOSITS, deposit_body(case, received_on=future), format="json"
    )
    assert response.status_code == 400 and "received_on" in response.json()


def test_a_negative_or_float_like_amount_is_refused(api, case, specialist):
    client = api.as_user(specialist)
    assert (
        client.post(DEPOSITS, deposit_body(case, amount="-5.00"), format="json").status_code == 400
    )
    assert client.post(DEPOSITS, deposit_body(case, amount="1e3"), format="json").status_code in (
        201,
        400,
    )
    assert not Deposit.objects.filter(amount__lt=0).exists()


def test_deposits_list_filters_by_case_and_received_range(api, case, specialist):
    other = factories.open_case(specialist)
    for day, key, target in (
        ("2026-01-05", "a", case),
        ("2026-01-20", "b", case),
        ("2026-01-21", "c", other),
    ):
        api.as_user(specialist).post(
            DEPOSITS,
            deposit_body(target, received_on=day, idempotency_key=key, reference=key),
            format="json",
        )
    client = api.as_user(specialist)
    assert client.get(DEPOSITS).json()["count"] == 3
    only_case = client.get(DEPOSITS, {"case": case.pk}).json()["results"]
    assert [d["reference"] for d in only_case] == ["b", "a"]
    ranged = client.get(DEPOSITS, {"received_from": "2026-01-10", "received_to": "2026-01-20"})
    assert [d["reference"] for d in ranged.json()["results"]] == ["b"]
    assert client.get(DEPOSITS, {"received_from": "nope"}).status_code == 400


def test_a_deposit_links_a_settlement_of_its_own_case_only(api, case, west_case, specialist):
    from settlements import services as settlement_services

    settlement = settlement_services.propose_settlement(
        case=case,
        proposed_by=specialist,
        gross_settlement=Decimal("100000.00"),
        attorney_fees=Decimal("33333.33"),
        costs=Decimal("1666.67"),
    )
    ok = api.as_user(specialist).post(
        DEPOSITS, deposit_body(case, settlement=settlement.pk), format="json"
    )
    assert ok.status_code == 201 and ok.json()["settlement"] == settlement.pk


# ---------------------------------------------------------------------------------------------
# Disbursements
# ---------------------------------------------------------------------------------------------


def test_a_request_is_created_requested_and_approved_by_a_supervisor(
    api, case, specialist, supervisor
):
    fund(case, specialist, "5000.00")
    created = api.as_user(specialist).post(
        DISBURSEMENTS,
        {
            "case": case.pk,
            "amount": "5000.00",
            "payee": "State Medicaid Agency",
            "purpose": "program_recovery",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "requested"
    assert created.json()["requested_by"] == "specialist"
    pk = created.json()["id"]
    detail = api.as_user(specialist).get(f"{DISBURSEMENTS}{pk}/")
    assert detail.status_code == 200 and detail.json()["amount"] == "5000.00"
    approved = api.as_user(supervisor).post(f"{DISBURSEMENTS}{pk}/approve/", {}, format="json")
    assert approved.status_code == 200
    body = approved.json()
    assert body["status"] == "approved" and body["decided_by"] == "supervisor"
    assert (body["federal_share"], body["state_share"]) == ("3900.00", "1100.00")
    assert body["transaction"] is not None
    assert CaseBalance.objects.get(case=case).held == Decimal("0.00")


def test_a_supervisor_cannot_approve_their_own_request(api, case, specialist, supervisor):
    fund(case, specialist)
    own = request(case, supervisor)
    response = api.as_user(supervisor).post(f"{DISBURSEMENTS}{own.pk}/approve/", {}, format="json")
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.status == "requested"


def test_a_specialist_cannot_approve(api, case, specialist, specialist2, supervisor):
    fund(case, specialist)
    pending = request(case, supervisor)
    response = api.as_user(specialist).post(
        f"{DISBURSEMENTS}{pending.pk}/approve/", {}, format="json"
    )
    assert response.status_code == 403
    assert Disbursement.objects.get(pk=pending.pk).status == "requested"


def test_an_approval_that_would_overdraw_is_a_409(api, case, specialist, supervisor):
    fund(case, specialist, "300.00")
    first = request(case, specialist, "200.00")
    second = request(case, specialist, "200.00")
    client = api.as_user(supervisor)
    assert client.post(f"{DISBURSEMENTS}{first.pk}/approve/").status_code == 200
    response = client.post(f"{DISBURSEMENTS}{second.pk}/approve/")
    assert response.status_code == 409
    assert response.json()["code"] == "overdraw" and "overdraw" in response.json()["detail"]
    assert Disbursement.objects.get(pk=second.pk).status == "requested"
    assert CaseBalance.objects.get(case=case).held == Decimal("100.00")


def test_a_request_beyond_the_held_balance_is_refused_at_once(api, case, specialist):
    fund(case, specialist, "100.00")
    response = api.as_user(specialist).post(
        DISBURSEMENTS,
        {"case": case.pk, "amount": "100.01", "payee": "Member", "purpose": "member_refund"},
        format="json",
    )
    assert response.status_code == 409 and response.json()["code"] == "overdraw"


def test_bad_request_input_names_the_fields(api, case, specialist):
    response = api.as_user(specialist).post(
        DISBURSEMENTS, {"case": case.pk, "amount": "0", "purpose": "gift"}, format="json"
    )
    assert response.status_code == 400
    assert {"amount", "payee", "purpose"} <= set(response.json())


def test_reject_needs_a_note_and_cancel_is_for_the_requester(api, case, specialist, supervisor):
    fund(case, specialist)
    one, two = request(case, specialist, "10.00"), request(case, specialist, "10.00")
    boss = api.as_user(supervisor)
    assert boss.post(f"{DISBURSEMENTS}{one.pk}/reject/", {}, format="json").status_code == 400
    rejected = boss.post(f"{DISBURSEMENTS}{one.pk}/reject/", {"note": "Wrong payee"}, format="json")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert boss.post(f"{DISBURSEMENTS}{one.pk}/approve/").status_code == 409
    cancelled = api.as_user(specialist).post(f"{DISBURSEMENTS}{two.pk}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


def test_disbursements_list_filters_by_status_and_case(api, case, specialist, supervisor):
    other = factories.open_case(specialist)
    fund(case, specialist)
    fund(other, specialist, key="seed-2")
    a = request(case, specialist, "10.00")
    request(case, specialist, "20.00")
    request(other, specialist, "30.00")
    services.approve_disbursement(disbursement=a, approved_by=supervisor)
    client = api.as_user(specialist)
    assert client.get(DISBURSEMENTS).json()["count"] == 3
    approved = client.get(DISBURSEMENTS, {"status": "approved"}).json()["results"]
    assert [d["amount"] for d in approved] == ["10.00"]
    by_case = client.get(DISBURSEMENTS, {"case": other.pk}).json()["results"]
    assert [d["amount"] for d in by_case] == ["30.00"]
    assert client.get(DISBURSEMENTS, {"status": "paid"}).status_code == 400


# ---------------------------------------------------------------------------------------------
# Transactions
# ---------------------------------------------------------------------------------------------


def test_transactions_nest_their_entries_and_a_supervisor_reverses_one(
    api, case, specialist, supervisor
):
    deposit = fund(case, specialist, "700.00")
    listed = api.as_user(specialist).get(TRANSACTIONS, {"case": case.pk}).json()["results"]
    assert len(listed) == 1
    entries = {e["account"]: e["amount"] for e in listed[0]["entries"]}
    assert entries == {"1000": "700.00", "2000": "-700.00"}
    assert listed[0]["reversed_by"] is None
    url = f"{TRANSACTIONS}{deposit.transaction_id}/reverse/"
    assert api.as_user(specialist).post(url, {"reason": "x"}, format="json").status_code == 403
    assert api.as_user(supervisor).post(url, {}, format="json").status_code == 400
    reversed_ = api.as_user(supervisor).post(url, {"reason": "Bounced check"}, format="json")
    assert reversed_.status_code == 201
    assert reversed_.json()["kind"] == "reversal"
    assert reversed_.json()["reverses"] == deposit.transaction_id
    again = api.as_user(supervisor).post(url, {"reason": "again"}, format="json")
    assert again.status_code == 409
    original = api.as_user(specialist).get(f"{TRANSACTIONS}{deposit.transaction_id}/").json()
    assert original["reversed_by"] == reversed_.json()["id"]


# ---------------------------------------------------------------------------------------------
# Roles and isolation
# ---------------------------------------------------------------------------------------------


def test_attorneys_get_403_on_every_ledger_endpoint(api, case, specialist, supervisor, attorney):
    deposit = fund(case, specialist)
    pending = request(case, specialist, "10.00")
    client = api.as_user(attorney)
    for url in (DEPOSITS, DISBURSEMENTS, TRANSACTIONS, f"{DEPOSITS}{deposit.pk}/"):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(DEPOSITS, deposit_body(case, idempotency_key="z"), format="json").status_code
        == 403
    )
    for verb in ("approve", "reject", "cancel"):
        assert client.post(f"{DISBURSEMENTS}{pending.pk}/{verb}/").status_code == 403
    assert client.post(f"{TRANSACTIONS}{deposit.transaction_id}/reverse/").status_code == 403
    assert Deposit.objects.count() == 1


def test_auditors_read_everything_and_write_nothing(api, case, specialist, auditor):
    deposit = fund(case, specialist)
    pending = request(case, specialist, "10.00")
    client = api.as_user(auditor)
    assert client.get(DEPOSITS).json()["count"] == 1
    assert client.get(f"{DISBURSEMENTS}{pending.pk}/").status_code == 200
    assert client.get(TRANSACTIONS).json()["count"] == 1
    assert (
        client.post(DEPOSITS, deposit_body(case, idempotency_key="q"), format="json").status_code
        == 403
    )
    body = {"case": case.pk, "amount": "1.00", "payee": "x", "purpose": "member_refund"}
    assert client.post(DISBURSEMENTS, body, format="json").status_code == 403
    for verb in ("approve", "reject", "cancel"):
        assert client.post(f"{DISBURSEMENTS}{pending.pk}/{verb}/").status_code == 403
    assert (
        client.post(
            f"{TRANSACTIONS}{deposit.transaction_id}/reverse/", {"reason": "x"}, format="json"
        ).status_code
        == 403
    )


def test_another_teams_case_does_not_exist_for_a_specialist(
    api, west_case, specialist, specialist2
):
    """A case the user may not see: 400 "does not exist" when sent as `case`, 404 by id, and
    absent from lists — the same answers as for an id that was never used."""
    deposit = fund(west_case, specialist2)
    pending = request(west_case, specialist2, "10.00")
    client = api.as_user(specialist)
    hidden = client.post(DEPOSITS, deposit_body(west_case, idempotency_key="w"), format="json")
    missing = client.post(DEPOSITS, deposit_body(999999, idempotency_key="w"), format="json")
    assert hidden.status_code == missing.status_code == 400
    assert set(hidden.json()) == {"case"}
    assert hidden.json()["case"][0].replace(str(west_case.pk), "N") == missing.json()["case"][
        0
    ].replace("999999", "N")
    body = {"case": west_case.pk, "amount": "1.00", "payee": "x", "purpose": "member_refund"}
    assert client.post(DISBURSEMENTS, body, format="json").status_code == 400
    assert client.get(f"{DEPOSITS}{deposit.pk}/").status_code == 404
    assert client.get(f"{DISBURSEMENTS}{pending.pk}/").status_code == 404
    assert (
        client.get(f"{DISBURSEMENTS}{pending.pk}/").json()
        == client.get(f"{DISBURSEMENTS}999999/").json()
    )
    assert client.post(f"{DISBURSEMENTS}{pending.pk}/cancel/").status_code == 404
    assert client.get(f"{TRANSACTIONS}{deposit.transaction_id}/").status_code == 404
    assert client.get(DEPOSITS, {"case": west_case.pk}).json()["count"] == 0
    assert client.get(DISBURSEMENTS).json()["count"] == 0
    assert client.get(TRANSACTIONS).json()["count"] == 0
    assert Deposit.objects.count() == 1


def test_a_team_mate_may_see_but_not_post_on_a_case_assigned_to_someone_else(
    api, team_east, specialist
):
    from tests.conftest import make_user

    colleague = make_user("colleague", "specialist", team_east)
    theirs = factories.open_case(colleague)
    client = api.as_user(specialist)
    assert client.post(DEPOSITS, deposit_body(theirs), format="json").status_code == 403
    assert not Deposit.objects.exists()


def test_the_schema_lists_the_ledger_endpoints(api, specialist):
    schema = api.as_user(specialist).get("/api/schema/", {"format": "json"}).json()
    for path in (
        "/api/ledger/deposits/",
        "/api/ledger/disbursements/",
        "/api/ledger/disbursements/{id}/approve/",
        "/api/ledger/transactions/{id}/reverse/",
    ):
        assert path in schema["paths"], path
