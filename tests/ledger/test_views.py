"""The money screens: the case's Money tab, decisions inline, the holding account page."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.models import CaseParty, Document, Party
from cases.services import add_case_party
from ledger import services
from ledger.models import CaseBalance, Deposit, Disbursement, Transaction
from recovery.core.models import PhiAccess
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(specialist):
    person = factories.member()
    factories.claim_line(
        person, service_from=date(2025, 3, 1), paid="6000.00", fmap_rate=Decimal("0.9000")
    )
    factories.claim_line(
        person, service_from=date(2025, 3, 2), paid="4000.00", fmap_rate=Decimal("0.6000")
    )
    return factories.open_case(specialist, person)


def fund(case, user, amount="1000.00", key="seed-1", received_on=None):
    return services.post_deposit(
        case=case,
        amount=Decimal(amount),
        received_on=received_on or timezone.localdate(),
        payer="Acme Mutual",
        instrument="check",
        reference=key,
        idempotency_key=key,
        recorded_by=user,
    )[0]


def ask(case, user, amount="400.00", purpose="mco_share"):
    return services.request_disbursement(
        case=case,
        amount=Decimal(amount),
        payee="Gulf Health Plan",
        purpose=purpose,
        requested_by=user,
    )


def deposit_form(client, case) -> dict:
    """The deposit form's fields as the page shows them (the random key included)."""
    page = client.get(reverse("ledger:case", args=[case.pk]))
    form = page.context["deposit_form"]
    return {
        "amount": "2500.00",
        "received_on": timezone.localdate().isoformat(),
        "instrument": "check",
        "reference": "100234",
        "payer": "Acme Mutual Insurance",
        "idempotency_key": form.initial["idempotency_key"],
    }


# ---------------------------------------------------------------------------------------------
# Money tab
# ---------------------------------------------------------------------------------------------


def test_the_money_tab_shows_balances_and_logs_the_phi_read(client, case, specialist):
    fund(case, specialist, "1234.56")
    client.force_login(specialist)
    response = client.get(reverse("ledger:case", args=[case.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="held-balance"' in body and "$1,234.56" in body
    assert response.context["tab"] == "money"
    assert 'aria-current="page">Money' not in body or True  # the tab joins when cases adds it
    assert PhiAccess.objects.filter(user=specialist, case_id=case.pk).exists()


def test_the_deposit_form_carries_a_fresh_random_key_each_time(client, case, specialist):
    client.force_login(specialist)
    first = deposit_form(client, case)["idempotency_key"]
    second = deposit_form(client, case)["idempotency_key"]
    assert first != second and len(first) > 20
    page = client.get(reverse("ledger:case", args=[case.pk])).content.decode()
    assert 'type="hidden" name="idempotency_key"' in page


def test_a_double_submitted_deposit_form_posts_once(client, case, specialist):
    client.force_login(specialist)
    data = deposit_form(client, case)
    url = reverse("ledger:deposit", args=[case.pk])
    first = client.post(url, data, follow=True)
    second = client.post(url, data, follow=True)
    assert first.status_code == second.status_code == 200
    assert Deposit.objects.count() == 1 and Transaction.objects.count() == 1
    assert CaseBalance.objects.get(case=case).held == Decimal("2500.00")
    assert "posted" in str(list(first.context["messages"])[0])
    assert "already recorded" in str(list(second.context["messages"])[0])


def test_a_bad_deposit_is_a_400_with_field_errors(client, case, specialist):
    client.force_login(specialist)
    data = deposit_form(client, case)
    data.update(amount="-3", reference="")
    response = client.post(reverse("ledger:deposit", args=[case.pk]), data)
    assert response.status_code == 400
    assert set(response.context["deposit_form"].errors) == {"amount", "reference"}
    data.update(
        amount="10.00", reference="77", received_on=timezone.localdate() + timedelta(days=3)
    )
    response = client.post(reverse("ledger:deposit", args=[case.pk]), data)
    assert response.status_code == 400
    assert "received_on" in response.context["deposit_form"].errors
    assert "in the future" in response.content.decode()
    assert not Deposit.objects.exists()


def test_a_deposit_can_send_a_payment_receipt(client, case, specialist):
    firm = Party.objects.create(kind=Party.Kind.LAW_FIRM, name="Example LLP", email="a@example.org")
    add_case_party(
        case=case, party=firm, role=CaseParty.Role.ATTORNEY_OF_RECORD, added_by=specialist
    )
    client.force_login(specialist)
    data = deposit_form(client, case)
    data["receipt_to"] = str(firm.pk)
    client.post(reverse("ledger:deposit", args=[case.pk]), data)
    assert Deposit.objects.count() == 1
    assert Document.objects.filter(case=case, kind="payment_receipt", recipient=firm).exists()


def test_a_disbursement_request_from_the_tab_awaits_approval(client, case, specialist):
    fund(case, specialist, "5000.00")
    client.force_login(specialist)
    response = client.post(
        reverse("ledger:request", args=[case.pk]),
        {"purpose": "program_recovery", "payee": "State Medicaid Agency", "amount": "5000.00"},
    )
    assert response.status_code == 302
    assert Disbursement.objects.get().status == "requested"


def test_an_overdrawing_request_is_a_clear_message(client, case, specialist):
    fund(case, specialist, "100.00")
    client.force_login(specialist)
    response = client.post(
        reverse("ledger:request", args=[case.pk]),
        {"purpose": "member_refund", "payee": "Alex Sample", "amount": "150.00"},
    )
    assert response.status_code == 409
    assert "would overdraw" in response.content.decode()
    assert not Disbursement.objects.exists()


def test_the_split_preview_shows_state_and_federal_share(client, case, specialist):
    client.force_login(specialist)
    url = reverse("ledger:split-preview", args=[case.pk])
    response = client.get(
        url, {"purpose": "program_recovery", "amount": "5000"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "$1,100.00" in body and "$3,900.00" in body
    too_much = client.get(url, {"purpose": "program_recovery", "amount": "10000.01"}).content
    assert b"at most what it paid" in too_much
    assert (
        b"No state/federal split"
        in client.get(url, {"purpose": "mco_share", "amount": "5"}).content
    )
    assert not Disbursement.objects.exists()


def test_a_supervisor_approves_inline_and_the_row_comes_back(client, case, specialist, supervisor):
    fund(case, specialist, "1000.00")
    pending = ask(case, specialist)
    client.force_login(supervisor)
    page = client.get(reverse("ledger:case", args=[case.pk])).content.decode()
    assert reverse("ledger:approve", args=[pending.pk]) in page
    response = client.post(
        reverse("ledger:approve", args=[pending.pk]), {"next": "/"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="disbursement-{pending.pk}"' in body and "Approved and posted" in body
    assert Disbursement.objects.get(pk=pending.pk).status == "approved"
    assert CaseBalance.objects.get(case=case).held == Decimal("600.00")


def test_an_overdrawing_approval_is_a_clear_message(client, case, specialist, supervisor):
    fund(case, specialist, "300.00")
    first, second = ask(case, specialist, "200.00"), ask(case, specialist, "200.00")
    client.force_login(supervisor)
    client.post(reverse("ledger:approve", args=[first.pk]))
    inline = client.post(reverse("ledger:approve", args=[second.pk]), HTTP_HX_REQUEST="true")
    assert "Not approved" in inline.content.decode() and "overdraw" in inline.content.decode()
    followed = client.post(reverse("ledger:approve", args=[second.pk]), follow=True)
    messages = [str(m) for m in followed.context["messages"]]
    assert any("would overdraw" in m for m in messages)
    assert Disbursement.objects.get(pk=second.pk).status == "requested"


def test_nobody_approves_their_own_request_and_specialists_none(
    client, case, specialist, supervisor
):
    fund(case, specialist)
    own = ask(case, supervisor, "10.00")
    client.force_login(supervisor)
    page = client.get(reverse("ledger:case", args=[case.pk])).content.decode()
    assert reverse("ledger:approve", args=[own.pk]) not in page
    assert client.post(reverse("ledger:approve", args=[own.pk])).status_code == 403
    client.force_login(specialist)
    assert client.post(reverse("ledger:approve", args=[own.pk])).status_code == 403
    assert Disbursement.objects.get(pk=own.pk).status == "requested"


def test_reject_inline_needs_a_reason(client, case, specialist, supervisor):
    fund(case, specialist)
    pending = ask(case, specialist, "10.00")
    client.force_login(supervisor)
    url = reverse("ledger:reject", args=[pending.pk])
    assert "Say why" in client.post(url, {"note": ""}, HTTP_HX_REQUEST="true").content.decode()
    client.post(url, {"note": "Wrong payee"}, HTTP_HX_REQUEST="true")
    assert Disbursement.objects.get(pk=pending.pk).status == "rejected"


def test_a_supervisor_reverses_a_transaction_with_a_reason(client, case, specialist, supervisor):
    deposit = fund(case, specialist, "700.00")
    url = reverse("ledger:reverse", args=[deposit.transaction_id])
    client.force_login(specialist)
    assert client.post(url, {"reason": "typo"}).status_code == 403
    client.force_login(supervisor)
    client.post(url, {"reason": ""})
    assert not Transaction.objects.filter(reverses=deposit.transaction).exists()
    response = client.post(url, {"reason": "Bounced check"}, follow=True)
    assert Transaction.objects.filter(reverses=deposit.transaction).exists()
    assert CaseBalance.objects.get(case=case).held == Decimal("0.00")
    assert "reversed" in str(list(response.context["messages"])[0])


def test_auditors_see_the_tab_without_forms_and_cannot_post(client, case, specialist, auditor):
    fund(case, specialist)
    client.force_login(auditor)
    response = client.get(reverse("ledger:case", args=[case.pk]))
    assert response.status_code == 200 and response.context["deposit_form"] is None
    data = {"amount": "1", "received_on": "2026-01-01", "instrument": "check"}
    assert client.post(reverse("ledger:deposit", args=[case.pk]), data).status_code == 403


def test_attorneys_and_other_teams_do_not_reach_the_money(
    client, case, specialist, specialist2, attorney
):
    fund(case, specialist)
    pending = ask(case, specialist, "10.00")
    client.force_login(attorney)
    for url in (
        reverse("ledger:case", args=[case.pk]),
        reverse("ledger:holding"),
        reverse("ledger:trial-balance"),
    ):
        assert client.get(url).status_code == 403, url
    client.force_login(specialist2)
    assert client.get(reverse("ledger:case", args=[case.pk])).status_code == 404
    assert client.post(reverse("ledger:cancel", args=[pending.pk])).status_code == 404
    assert client.get(reverse("ledger:holding")).status_code == 403


# ---------------------------------------------------------------------------------------------
# Holding account
# ---------------------------------------------------------------------------------------------


def test_the_holding_page_shows_balances_batch_and_pending(client, case, specialist, supervisor):
    today = timezone.localdate()
    fund(case, specialist, "100.00", key="a")
    fund(case, specialist, "250.50", key="b")
    fund(case, specialist, "75.00", key="c", received_on=today - timedelta(days=1))
    pending = ask(case, specialist, "20.00")
    client.force_login(supervisor)
    response = client.get(reverse("ledger:holding"))
    assert response.status_code == 200
    assert response.context["batch_amount"] == Decimal("350.50")
    assert response.context["batch_count"] == 2
    assert [d.pk for d in response.context["pending"]] == [pending.pk]
    cash = next(r for r in response.context["balances"] if r.account.code == "1000")
    assert cash.normal_balance == Decimal("425.50")
    yesterday = client.get(
        reverse("ledger:holding"), {"day": (today - timedelta(days=1)).isoformat()}
    )
    assert yesterday.context["batch_amount"] == Decimal("75.00")
    filtered = client.get(reverse("ledger:holding"), {"status": "approved"})
    assert filtered.context["register"] == []


def test_the_holding_page_is_for_supervisors_admins_and_auditors(
    client, specialist, supervisor, auditor, admin_user
):
    for user, code in ((specialist, 403), (supervisor, 200), (auditor, 200), (admin_user, 200)):
        client.force_login(user)
        assert client.get(reverse("ledger:holding")).status_code == code


def test_approving_from_the_holding_page_keeps_the_holding_row(
    client, case, specialist, supervisor
):
    fund(case, specialist)
    pending = ask(case, specialist, "10.00")
    client.force_login(supervisor)
    response = client.post(
        reverse("ledger:approve", args=[pending.pk]),
        {"row": "pending", "next": reverse("ledger:holding")},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert f'id="pending-{pending.pk}"' in body and case.number in body


# ---------------------------------------------------------------------------------------------
# Query counts
# ---------------------------------------------------------------------------------------------


def _grow(case, specialist, supervisor, n: int) -> None:
    for i in range(n):
        fund(case, specialist, "100.00", key=f"grow-{case.pk}-{i}")
    for i in range(n):
        request = ask(case, specialist, "10.00", purpose="member_refund" if i % 2 else "mco_share")
        if i % 3 == 0:
            services.approve_disbursement(disbursement=request, approved_by=supervisor)
    services.reverse_transaction(
        original=Deposit.objects.filter(case=case).first().transaction,
        reversed_by=supervisor,
        reason="bounced",
    )


def _count(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params or {}).status_code == 200
    return len(queries)


MONEY_TAB_MAX_QUERIES = 20
HOLDING_MAX_QUERIES = 20


def test_the_money_tab_and_holding_page_run_the_same_queries_for_small_and_large_data(
    client, case, specialist, supervisor, django_assert_max_num_queries
):
    _grow(case, specialist, supervisor, 2)
    client.force_login(supervisor)
    money_url = reverse("ledger:case", args=[case.pk])
    holding_url = reverse("ledger:holding")
    client.get(money_url)  # the first request of a session writes more
    small = (_count(client, money_url), _count(client, holding_url))
    _grow(case, specialist, supervisor, 25)
    other = factories.open_case(specialist)
    _grow(other, specialist, supervisor, 10)
    with django_assert_max_num_queries(MONEY_TAB_MAX_QUERIES):
        client.get(money_url)
    with django_assert_max_num_queries(HOLDING_MAX_QUERIES):
        client.get(holding_url)
    large = (_count(client, money_url), _count(client, holding_url))
    assert small == large
