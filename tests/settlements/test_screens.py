"""The case's Settlement tab, the Approvals page and the negotiation brief PDF."""

import html
import re
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from cases.models import CaseParty, Deadline, Party
from cases.views import case_tabs
from recovery.core.models import PhiAccess
from settlements import services
from settlements.models import BalanceAdjustment, Installment, NegotiationEntry, Settlement
from tests import factories
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

# Georgia's default formula is the procurement-cost reduction. On a $10,000 lien, a $100,000
# settlement with $35,000 of fees and costs gives 10,000 − 0.35 × 10,000 = $6,500.
FIGURES = {
    "gross_settlement": "100000.00",
    "attorney_fees": "33333.33",
    "costs": "1666.67",
    "formula": "procurement_cost",
}
# Agreeing to $3,000 gives up $3,500 (35% of the lien) beyond the formula: over the
# specialist's $2,500 / 10% authority.
BEYOND = FIGURES | {"agreed_recovery": "3000.00", "compromise_reason": "Limited policy."}


def tab(case) -> str:
    return reverse("settlements:case", args=[case.pk])


def text(response) -> str:
    """The page's words, without markup, on one line each run of whitespace."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture
def case(specialist):
    person = factories.member(first="Rosa", last="Delgado")
    factories.claim_line(person, service_from=date(2025, 3, 1), paid="6000.00")
    factories.claim_line(person, service_from=date(2025, 3, 2), paid="4000.00")
    case = factories.open_case(specialist, person, code="GA")
    case.firm = factories.law_firm()
    factories.attorney_of_record(case, case.firm, specialist)
    case.refresh_from_db()
    assert case.lien_amount == Decimal("10000.00")
    assert case.assigned_to == specialist
    return case


def propose(case, user, **changes):
    figures = {k: Decimal(v) for k, v in FIGURES.items() if k != "formula"}
    return services.propose_settlement(
        case=case, proposed_by=user, formula="procurement_cost", **(figures | changes)
    )


def pending(case, specialist):
    return propose(
        case,
        specialist,
        agreed_recovery=Decimal("3000.00"),
        compromise_reason="Limited policy.",
        justification="The insurer's policy limit is $25,000 and the member is disabled.",
    )


# ---------------------------------------------------------------------------------------------
# The tab
# ---------------------------------------------------------------------------------------------


def test_the_tab_joins_the_case_page(case):
    assert reverse("settlements:case", args=[case.pk]) == f"/settlements/case/{case.pk}/"
    assert ("settlement", "Settlement", tab(case)) in case_tabs(case.pk)


def test_the_specialist_sees_the_tab_with_its_forms_and_the_read_is_logged(
    client, specialist, case
):
    client.force_login(specialist)
    response = client.get(tab(case))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-current="page">Settlement</a>' in html
    assert case.number in html and "Rosa Delgado" in html
    assert "Propose settlement" in html and "Log a negotiation step" in html
    assert "Request an adjustment" in html
    # the jurisdiction's default formula is preselected and named
    assert re.search(r'<option value="procurement_cost" selected>[^<]*default for Georgia', html)
    assert " style=" not in html and "<script>" not in html
    assert PhiAccess.objects.filter(
        user=specialist, subject_id=case.member_id, case_id=case.pk, action="view"
    ).exists()


def test_proposing_within_authority_is_accepted_with_a_funds_due_deadline(client, specialist, case):
    client.force_login(specialist)
    response = client.post(reverse("settlements:propose", args=[case.pk]), FIGURES, follow=True)
    assert response.redirect_chain == [(tab(case), 302)]
    settlement = Settlement.objects.get(case=case)
    assert settlement.status == Settlement.Status.ACCEPTED
    assert settlement.agreed_recovery == settlement.computed_recovery == Decimal("6500.00")
    due = timezone.localdate() + timedelta(days=30)
    assert settlement.funds_due_on == due
    assert case.deadlines.get(kind=Deadline.Kind.FUNDS_DUE).due_date == due
    page = text(response)
    assert f"Settlement accepted at $6,500.00; funds are due by {due:%Y-%m-%d}" in page
    assert "Current settlement Accepted" in page
    # every step with its citation
    assert "42 CFR 411.37(c)(2)" in page and "Program's share of procurement costs" in page
    assert "Within the proposer's authority" in page
    assert "Set up installments" in page and "Supersede" in page
    assert "Propose settlement" not in page


def test_beyond_authority_without_a_justification_is_a_form_error(client, specialist, case):
    client.force_login(specialist)
    response = client.post(reverse("settlements:propose", args=[case.pk]), BEYOND)
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'id="id_justification_error"><li>This is beyond your authority', html), (
        "the service's message sits on the justification field"
    )
    assert not Settlement.objects.exists()
    # the typed figures are kept
    assert 'name="agreed_recovery" value="3000.00"' in html


def test_beyond_authority_with_a_justification_waits_for_the_supervisor_who_approves_it(
    client, specialist, supervisor, case
):
    client.force_login(specialist)
    response = client.post(
        reverse("settlements:propose", args=[case.pk]),
        BEYOND | {"justification": "Policy limits; member disabled."},
        follow=True,
    )
    settlement = Settlement.objects.get(case=case)
    assert settlement.status == Settlement.Status.PENDING
    assert settlement.approver == supervisor
    page = text(response)
    assert f"sent to {supervisor} for approval" in page
    assert "Awaiting supervisor approval" in page and "Beyond the proposer's authority" in page
    assert reverse("settlements:approve", args=[settlement.pk]) not in str(response.content)
    assert f"Waiting for {supervisor} to decide." in page

    client.force_login(supervisor)
    html = client.get(tab(case)).content.decode()
    assert reverse("settlements:approve", args=[settlement.pk]) in html
    assert reverse("settlements:reject", args=[settlement.pk]) in html
    response = client.post(reverse("settlements:approve", args=[settlement.pk]), follow=True)
    assert response.redirect_chain == [(tab(case), 302)]
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.ACCEPTED
    assert settlement.decided_by == supervisor
    assert settlement.funds_due_on == timezone.localdate() + timedelta(days=30)
    assert case.deadlines.filter(kind=Deadline.Kind.FUNDS_DUE).count() == 1
    assert "approved" in text(response)


def test_the_proposer_cannot_approve_their_own_settlement(
    client, supervisor, supervisor2, specialist, case
):
    # A supervisor's authority is $0 here: their reduction waits for another supervisor.
    settlement = pending(case, supervisor)
    assert settlement.approver == supervisor2
    client.force_login(supervisor)
    html = client.get(tab(case)).content.decode()
    assert reverse("settlements:approve", args=[settlement.pk]) not in html
    response = client.post(reverse("settlements:approve", args=[settlement.pk]), follow=True)
    assert response.status_code == 200
    assert "Nobody approves their own settlement." in text(response)
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.PENDING

    # nor can a specialist approve anything
    client.force_login(specialist)
    response = client.post(reverse("settlements:approve", args=[settlement.pk]), follow=True)
    assert "Only a supervisor decides this." in text(response)
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.PENDING


def test_rejecting_needs_a_note(client, specialist, supervisor, case):
    settlement = pending(case, specialist)
    client.force_login(supervisor)
    url = reverse("settlements:reject", args=[settlement.pk])
    response = client.post(url, {"note": "  "}, follow=True)
    assert "Say why the settlement is rejected." in text(response)
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.PENDING
    response = client.post(url, {"note": "Ask for the policy declarations first."}, follow=True)
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.REJECTED
    page = text(response)
    assert "Earlier settlements" in page and "Ask for the policy declarations first." in page
    assert "Propose settlement" in page  # a new proposal may follow


def test_a_second_proposal_while_one_is_live_is_a_form_error_not_a_500(client, specialist, case):
    propose(case, specialist)
    client.force_login(specialist)
    # The form is gone from the page, but a stale tab may still post it.
    response = client.post(reverse("settlements:propose", args=[case.pk]), FIGURES, follow=True)
    assert response.redirect_chain == [(tab(case), 302)]
    assert "already has a pending or accepted settlement" in text(response)
    assert Settlement.objects.filter(case=case).count() == 1


def test_bad_figures_are_form_errors(client, specialist, case):
    client.force_login(specialist)
    url = reverse("settlements:propose", args=[case.pk])
    response = client.post(url, FIGURES | {"attorney_fees": "200000.00"})
    assert response.status_code == 400
    assert "Fees and costs cannot exceed the settlement." in text(response)
    response = client.post(url, FIGURES | {"formula": "pro_rata"})
    assert response.status_code == 400
    assert "full value of damages or an allocation ratio" in text(response)
    response = client.post(url, FIGURES | {"gross_settlement": "lots"})
    assert response.status_code == 400
    assert not Settlement.objects.exists()


def test_the_live_preview_shows_every_formula_and_the_authority_verdict(client, specialist, case):
    client.force_login(specialist)
    url = reverse("settlements:preview", args=[case.pk])
    response = client.get(url, FIGURES, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert re.search(r'data-formula="procurement_cost">.*?\$6,500\.00', html, re.S)
    assert re.search(r'data-formula="full_lien">.*?\$10,000\.00', html, re.S)
    assert 'data-authority="within"' in html and "You may go down to $5,500.00 alone" in html
    # a short summary for screen readers, swapped out of band into the page's live region
    assert re.search(
        r'<p id="proposal-status" [^>]*hx-swap-oob="true">Procurement-cost reduction: \$6,500\.00; '
        r"agreed \$6,500\.00; within your authority\.</p>",
        html,
    )

    html = client.get(url, BEYOND, headers={"HX-Request": "true"}).content.decode()
    page = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert 'data-authority="beyond"' in html
    assert "$3,500.00 (35% of the lien) below Procurement-cost reduction ($6,500.00)" in page
    assert "$2,500.00 and 10%" in page and "write a justification" in page
    assert "say why in the compromise reason" in page

    html = client.get(url, {"gross_settlement": ""}, headers={"HX-Request": "true"}).content
    assert b"Enter the gross settlement" in html
    html = client.get(url, FIGURES | {"attorney_fees": "999999.00"}).content.decode()
    assert "Fees and costs cannot exceed the settlement." in html


def test_the_preview_uses_the_same_rule_as_the_service(client, specialist, case):
    """At the edge of the authority: $2,500 below the formula is 25% of the lien — within the
    dollars, beyond the percent — so both say beyond; $1,000 (10%) is within for both."""
    client.force_login(specialist)
    url = reverse("settlements:preview", args=[case.pk])
    for agreed, verdict, status in (
        ("4000.00", "beyond", Settlement.Status.PENDING),
        ("5500.00", "within", Settlement.Status.ACCEPTED),
    ):
        body = FIGURES | {"agreed_recovery": agreed, "compromise_reason": "Risk."}
        html = client.get(url, body).content.decode()
        assert f'data-authority="{verdict}"' in html
        settlement = services.propose_settlement(
            case=case,
            proposed_by=specialist,
            formula="procurement_cost",
            gross_settlement=Decimal("100000.00"),
            attorney_fees=Decimal("33333.33"),
            costs=Decimal("1666.67"),
            agreed_recovery=Decimal(agreed),
            compromise_reason="Risk.",
            justification="Because.",
        )
        assert settlement.status == status
        services.supersede_settlement(settlement=settlement, by=specialist)


@pytest.mark.parametrize("formula", ["procurement_cost", "full_lien", "statutory_half"])
@pytest.mark.parametrize("agreed", ["6500.00", "5500.00", "5499.99", "4000.00", "3000.00", None])
def test_the_selector_and_the_service_agree_on_authority(specialist, case, formula, agreed):
    """`evaluate_proposal` (the screen's preview) and `propose_settlement` decide alike, at the
    10% edge too ($1,000.00 below the default formula is within, $1,000.01 is not)."""
    from settlements.selectors import evaluate_proposal

    figures = {
        "gross_settlement": Decimal("100000.00"),
        "attorney_fees": Decimal("33333.33"),
        "costs": Decimal("1666.67"),
    }
    agreed = Decimal(agreed) if agreed else None
    proposal = evaluate_proposal(
        case=case, user=specialist, formula=formula, agreed_recovery=agreed, **figures
    )
    if proposal.errors:  # e.g. more than the formula allows: the service refuses it too
        with pytest.raises(ValidationError):
            services.propose_settlement(
                case=case,
                proposed_by=specialist,
                formula=formula,
                agreed_recovery=agreed,
                compromise_reason="r",
                justification="j",
                **figures,
            )
        return
    settlement = services.propose_settlement(
        case=case,
        proposed_by=specialist,
        formula=formula,
        agreed_recovery=agreed,
        compromise_reason="r",
        justification="j",
        **figures,
    )
    assert settlement.within_authority == proposal.authority.within
    assert settlement.computed_recovery == proposal.result.recovery_amount
    assert settlement.agreed_recovery == proposal.agreed
    assert Decimal(settlement.calculation["discretionary_reduction"]) == (
        proposal.authority.discretionary
    )


def test_a_reported_settlement_prefills_the_gross_and_the_preview(client, specialist, case):
    services.log_negotiation(
        case=case,
        logged_by=specialist,
        kind=NegotiationEntry.Kind.SETTLEMENT_REPORT,
        amount=Decimal("42000.00"),
    )
    client.force_login(specialist)
    html = client.get(tab(case)).content.decode()
    assert 'name="gross_settlement" value="42000.00"' in html
    assert 'data-formula="procurement_cost"' in html


# ---------------------------------------------------------------------------------------------
# Negotiation log
# ---------------------------------------------------------------------------------------------


def test_logging_a_step_through_htmx_prepends_it_and_resets_the_form(client, specialist, case):
    client.force_login(specialist)
    url = reverse("settlements:negotiation-add", args=[case.pk])
    body = {
        "entry-kind": "offer",
        "entry-party": case.firm.pk,
        "entry-amount": "2500.00",
        "entry-channel": "email",
        "entry-note": "First offer <b>low</b>",
    }
    response = client.post(url, body, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    entry = NegotiationEntry.objects.get(case=case)
    assert html.lstrip().startswith(f'<li class="entry kind-offer" id="entry-{entry.pk}">')
    assert "$2,500.00" in html and "Example &amp; Partners LLP" in html and "E-mail" in html
    assert "First offer &lt;b&gt;low&lt;/b&gt;" in html
    assert 'id="negotiation-form" aria-labelledby="log-h" hx-swap-oob="true"' in html
    assert 'id="negotiation-empty" hx-swap-oob="true" hidden' in html
    assert entry.created_by == specialist

    # newest first on the page, with who logged it
    services.log_negotiation(
        case=case, logged_by=specialist, kind="counter_offer", amount=Decimal("6000")
    )
    page = text(client.get(tab(case)))
    assert page.index("Counter-offer") < page.index("Offer $2,500.00")
    assert "Specialist Example" in page


def test_a_bad_step_comes_back_as_the_form_with_errors(client, specialist, case):
    client.force_login(specialist)
    url = reverse("settlements:negotiation-add", args=[case.pk])
    tomorrow = timezone.localdate() + timedelta(days=1)
    body = {"entry-kind": "offer", "entry-channel": "phone", "entry-occurred_on": tomorrow}
    response = client.post(url, body, headers={"HX-Request": "true"})
    assert response["HX-Retarget"] == "#negotiation-form"
    assert response["HX-Reswap"] == "outerHTML"
    assert "cannot be dated in the future" in response.content.decode()
    # without htmx: the whole tab, 400
    response = client.post(url, body)
    assert response.status_code == 400
    assert "cannot be dated in the future" in text(response)
    # a party that is not on the case is refused by the form
    other = Party.objects.create(kind=Party.Kind.LAW_FIRM, name="Elsewhere LLP")
    response = client.post(
        url, {"entry-kind": "offer", "entry-channel": "phone", "entry-party": other.pk}
    )
    assert response.status_code == 400
    assert not NegotiationEntry.objects.exists()


# ---------------------------------------------------------------------------------------------
# Installments, supersede, adjustments
# ---------------------------------------------------------------------------------------------


def test_installments_are_set_up_and_payments_recorded(client, specialist, case):
    settlement = propose(case, specialist)
    client.force_login(specialist)
    first = timezone.localdate() + timedelta(days=30)
    response = client.post(
        reverse("settlements:installments", args=[settlement.pk]),
        {"plan-installments": "4", "plan-first_due_on": first.isoformat()},
        follow=True,
    )
    page = text(response)
    assert "4 installments set up." in page
    assert "$1,625.00" in page and first.strftime("%Y-%m-%d") in page
    installment = Installment.objects.get(arrangement__settlement=settlement, number=1)
    response = client.post(
        reverse("settlements:payment", args=[installment.pk]), {"amount": "1625.00"}, follow=True
    )
    assert "Payment of $1,625.00 recorded on installment 1." in text(response)
    installment.refresh_from_db()
    assert installment.status == Installment.Status.PAID
    # bad input: a message, nothing written
    response = client.post(
        reverse("settlements:payment", args=[installment.pk]), {"amount": "-5"}, follow=True
    )
    assert "Enter the amount received" in text(response)
    # a second arrangement is refused with a message
    response = client.post(
        reverse("settlements:installments", args=[settlement.pk]),
        {"plan-installments": "3", "plan-first_due_on": first.isoformat()},
        follow=True,
    )
    assert "already has a payment arrangement" in text(response)


def test_bad_installment_plans_are_form_errors(client, specialist, case):
    settlement = propose(case, specialist)
    client.force_login(specialist)
    url = reverse("settlements:installments", args=[settlement.pk])
    response = client.post(url, {"plan-installments": "1", "plan-first_due_on": "2026-01-01"})
    assert response.status_code == 400
    assert "greater than or equal to 2" in text(response)
    response = client.post(url, {"plan-installments": "3"})
    assert response.status_code == 400
    assert not Installment.objects.exists()


def test_a_within_authority_proposal_with_a_reduction_request_is_accepted(client, specialist, case):
    client.force_login(specialist)
    response = client.post(
        reverse("settlements:propose", args=[case.pk]),
        FIGURES | {"reduction_requested": "on"},
        follow=True,
    )
    assert response.redirect_chain == [(tab(case), 302)]
    settlement = Settlement.objects.get(case=case)
    assert settlement.reduction_requested and settlement.status == Settlement.Status.ACCEPTED
    assert "attorney asked for a reduction" in text(response)


def test_superseding_sets_the_settlement_aside(client, specialist, case):
    settlement = propose(case, specialist)
    client.force_login(specialist)
    response = client.post(reverse("settlements:supersede", args=[settlement.pk]), follow=True)
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.SUPERSEDED
    assert "Propose settlement" in text(response)


def test_adjustments_are_requested_and_decided_by_another_supervisor(
    client, specialist, supervisor, case
):
    client.force_login(specialist)
    response = client.post(
        reverse("settlements:adjustment-request", args=[case.pk]),
        {
            "adj-kind": "waiver",
            "adj-amount": "500.00",
            "adj-reason_code": "hardship",
            "adj-reason": "Member lost their home.",
        },
        follow=True,
    )
    assert "Waiver (hardship) requested" in text(response)
    adjustment = BalanceAdjustment.objects.get(case=case)
    decide = reverse("settlements:adjustment-decide", args=[adjustment.pk])
    # the requester cannot decide (and is no supervisor)
    response = client.post(decide, {"decision": "approve"}, follow=True)
    assert "Only a supervisor decides this." in text(response)

    client.force_login(supervisor)
    assert decide in client.get(tab(case)).content.decode()
    response = client.post(decide, {"decision": "reject"}, follow=True)
    assert "Say why the request is rejected." in text(response)
    response = client.post(decide, {"decision": "approve", "note": "Documented."}, follow=True)
    adjustment.refresh_from_db()
    assert adjustment.status == BalanceAdjustment.Status.APPROVED
    assert adjustment.decided_by == supervisor
    # a bad request is a form error
    response = client.post(
        reverse("settlements:adjustment-request", args=[case.pk]),
        {"adj-kind": "waiver", "adj-amount": "0", "adj-reason_code": "hardship", "adj-reason": ""},
    )
    assert response.status_code == 400


# ---------------------------------------------------------------------------------------------
# Who may see and do what
# ---------------------------------------------------------------------------------------------


def test_the_auditor_sees_everything_and_no_forms_and_cannot_post(
    client, specialist, auditor, case
):
    settlement = pending(case, specialist)
    services.log_negotiation(case=case, logged_by=specialist, kind="offer", amount=Decimal("1"))
    client.force_login(auditor)
    response = client.get(tab(case))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Awaiting supervisor approval" in html and "Offer" in html
    assert "<form" not in html.split('<nav class="tabs"')[1]
    assert PhiAccess.objects.filter(user=auditor, subject_id=case.member_id).exists()
    for name, args in (
        ("settlements:propose", [case.pk]),
        ("settlements:negotiation-add", [case.pk]),
        ("settlements:adjustment-request", [case.pk]),
        ("settlements:approve", [settlement.pk]),
        ("settlements:reject", [settlement.pk]),
        ("settlements:supersede", [settlement.pk]),
        ("settlements:installments", [settlement.pk]),
    ):
        assert client.post(reverse(name, args=args), {"note": "x"}).status_code == 403, name
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.PENDING


def test_attorneys_get_a_403(client, attorney, case):
    client.force_login(attorney)
    assert client.get(tab(case)).status_code == 403
    assert client.get(reverse("settlements:brief", args=[case.pk])).status_code == 403
    assert client.get(reverse("settlements:approvals")).status_code == 403


def test_another_teams_specialist_gets_a_404(client, specialist2, case):
    settlement = propose(case, case.assigned_to)
    client.force_login(specialist2)
    assert client.get(tab(case)).status_code == 404
    assert client.get(reverse("settlements:brief", args=[case.pk])).status_code == 404
    response = client.post(reverse("settlements:supersede", args=[settlement.pk]))
    assert response.status_code == 404
    response = client.post(reverse("settlements:propose", args=[case.pk]), FIGURES)
    assert response.status_code == 404


def test_a_teammate_who_is_not_assigned_reads_but_does_not_write(client, specialist, case):
    teammate = make_user("teammate", "specialist", specialist.team)
    client.force_login(teammate)
    response = client.get(tab(case))
    assert response.status_code == 200
    assert "Propose settlement" not in text(response)
    assert client.post(reverse("settlements:propose", args=[case.pk]), FIGURES).status_code == 403


def _busy_case(specialist, supervisor, *, entries: int, adjustments: int):
    person = factories.member()
    for day in range(1, 4):
        factories.claim_line(person, service_from=date(2025, 3, day), paid="1000.00")
    busy = factories.open_case(specialist, person, code="GA")
    firm = factories.law_firm(f"Firm {busy.pk}")
    factories.attorney_of_record(busy, firm, specialist)
    for n in range(entries):
        services.log_negotiation(
            case=busy, logged_by=specialist, kind="offer", amount=Decimal(n + 1), party=firm
        )
    settlement = services.propose_settlement(
        case=busy, proposed_by=specialist, gross_settlement=Decimal("50000.00")
    )
    services.arrange_installments(
        settlement=settlement,
        arranged_by=specialist,
        installments=2 + entries,
        first_due_on=timezone.localdate(),
    )
    for _ in range(adjustments):
        services.request_adjustment(
            case=busy,
            requested_by=specialist,
            kind="waiver",
            amount=Decimal("10"),
            reason_code="hardship",
            reason="r",
        )
    services.supersede_settlement(settlement=settlement, by=specialist)
    services.propose_settlement(
        case=busy, proposed_by=specialist, gross_settlement=Decimal("40000.00")
    )
    busy.refresh_from_db()
    return busy


def test_the_tab_makes_the_same_number_of_queries_for_small_and_large_cases(
    client, specialist, supervisor
):
    small = _busy_case(specialist, supervisor, entries=1, adjustments=1)
    large = _busy_case(specialist, supervisor, entries=40, adjustments=20)
    client.force_login(specialist)
    client.get(tab(small))  # warm per-process caches (content types, the jurisdiction row)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small_queries:
        assert client.get(tab(small)).status_code == 200
    with CaptureQueriesContext(connection) as large_queries:
        assert client.get(tab(large)).status_code == 200
    assert len(small_queries) == len(large_queries)
    assert len(large_queries) <= 20, [q["sql"] for q in large_queries.captured_queries]

    # With no live settlement the page shows the proposal form and its preview instead.
    for busy in (small, large):
        services.supersede_settlement(
            settlement=busy.settlements.get(status="accepted"), by=specialist
        )
        services.log_negotiation(
            case=busy, logged_by=specialist, kind="settlement_report", amount=Decimal("30000")
        )
    with CaptureQueriesContext(connection) as small_queries:
        assert "Propose settlement" in text(client.get(tab(small)))
    with CaptureQueriesContext(connection) as large_queries:
        assert "Propose settlement" in text(client.get(tab(large)))
    assert len(small_queries) == len(large_queries) <= 20


# ---------------------------------------------------------------------------------------------
# Approvals
# ---------------------------------------------------------------------------------------------

APPROVALS = "/settlements/approvals/"


def test_the_approvals_url_and_nav_entry(client, supervisor):
    assert reverse("settlements:approvals") == APPROVALS
    client.force_login(supervisor)
    html = client.get("/").content.decode()
    assert f'href="{APPROVALS}"' in html


def _lien_change(case, specialist):
    from liens import services as lien_services

    lien = lien_services.create_lien(case=case, created_by=specialist)
    lien_services.file_lien(
        lien=lien,
        filed_by=specialist,
        filed_with=case.firm,
        filed_on=timezone.localdate(),
        method="email",
    )
    return lien_services.request_withdrawal(
        lien=lien, requested_by=specialist, reason="The member's claim was dropped."
    )


def test_the_supervisor_sees_what_waits_for_them_and_approves_inline(
    client, specialist, supervisor, case
):
    settlement = pending(case, specialist)
    change = _lien_change(case, specialist)
    adjustment = services.request_adjustment(
        case=case,
        requested_by=specialist,
        kind="write_off",
        amount=Decimal("250.00"),
        reason_code="no_assets",
        reason="Nothing to collect.",
    )
    client.force_login(supervisor)
    response = client.get(APPROVALS)
    assert response.status_code == 200
    page = text(response)
    assert "3 waiting" in page
    assert case.number in page and "Rosa Delgado" in page
    assert "$3,000.00" in page and "$3,500.00 (35% of the lien) below Procurement-cost" in page
    assert "Withdrawal" in page and "The member's claim was dropped." in page
    assert "Write-off (uncollectible)" in page and "$250.00" in page
    assert "Specialist Example" in page
    assert re.search(r"under 1 business hour|\d+ business (hour|day)s?", page)
    html = response.content.decode()
    # the lien change links to the case (its lien tab when that screen exists)
    try:
        lien_url = reverse("liens:case-lien", args=[case.pk])
    except Exception:
        lien_url = reverse("cases:detail", args=[case.pk])
    assert f'href="{lien_url}"' in html
    assert PhiAccess.objects.filter(user=supervisor, subject_id=case.member_id).exists()

    response = client.post(
        reverse("settlements:approve", args=[settlement.pk]), {"next": APPROVALS}, follow=True
    )
    assert response.redirect_chain == [(APPROVALS, 302)]
    assert f"Settlement on {case.number} approved." in text(response)
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.ACCEPTED
    response = client.post(
        reverse("settlements:adjustment-decide", args=[adjustment.pk]),
        {"decision": "reject", "note": "Try the estate first.", "next": APPROVALS},
        follow=True,
    )
    assert response.redirect_chain == [(APPROVALS, 302)]
    adjustment.refresh_from_db()
    assert adjustment.status == BalanceAdjustment.Status.REJECTED
    assert "1 waiting" in text(response)
    change.refresh_from_db()
    assert change.status == "requested"


def test_own_requests_have_no_buttons_and_a_forged_approval_is_a_message(
    client, supervisor, supervisor2, case
):
    settlement = pending(case, supervisor)  # waits for supervisor2
    adjustment = services.request_adjustment(
        case=case,
        requested_by=supervisor,
        kind="waiver",
        amount=Decimal("10.00"),
        reason_code="hardship",
        reason="r",
    )
    client.force_login(supervisor)
    html = client.get(APPROVALS).content.decode()
    # the settlement is supervisor2's to decide; the adjustment is shown as the user's own
    assert reverse("settlements:approve", args=[settlement.pk]) not in html
    assert reverse("settlements:adjustment-decide", args=[adjustment.pk]) not in html
    assert "Your own request" in html
    response = client.post(
        reverse("settlements:adjustment-decide", args=[adjustment.pk]),
        {"decision": "approve", "next": APPROVALS},
        follow=True,
    )
    assert "Nobody decides their own request." in text(response)

    client.force_login(supervisor2)
    html = client.get(APPROVALS).content.decode()
    assert reverse("settlements:approve", args=[settlement.pk]) in html


def test_admins_see_every_pending_settlement_and_auditors_read_only(
    client, specialist, supervisor, admin_user, auditor, case
):
    settlement = pending(case, specialist)
    client.force_login(admin_user)
    html = client.get(APPROVALS).content.decode()
    assert reverse("settlements:approve", args=[settlement.pk]) in html
    client.force_login(auditor)
    response = client.get(APPROVALS)
    assert response.status_code == 200
    html = response.content.decode()
    assert case.number in html and "Read-only" in html
    assert "<form" not in html.split('id="main"')[1]


def test_specialists_have_no_approvals_page(client, specialist):
    client.force_login(specialist)
    assert client.get(APPROVALS).status_code == 403


def _pending_items(specialist, supervisor, count: int):
    for _ in range(count):
        person = factories.member()
        factories.claim_line(person, service_from=date(2025, 3, 1), paid="10000.00")
        busy = factories.open_case(specialist, person, code="GA")
        busy.firm = factories.law_firm(f"Firm {busy.pk}")
        factories.attorney_of_record(busy, busy.firm, specialist)
        busy.refresh_from_db()
        pending(busy, specialist)
        _lien_change(busy, specialist)
        services.request_adjustment(
            case=busy,
            requested_by=specialist,
            kind="waiver",
            amount=Decimal("10.00"),
            reason_code="hardship",
            reason="r",
        )


def test_the_approvals_page_makes_a_fixed_number_of_queries(
    client, specialist, supervisor, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(supervisor)
    _pending_items(specialist, supervisor, 3)
    client.get(APPROVALS)
    with CaptureQueriesContext(connection) as few:
        assert text(client.get(APPROVALS)).count("Specialist Example") >= 9
    _pending_items(specialist, supervisor, 27)
    with django_assert_max_num_queries(len(few)):
        page = text(client.get(APPROVALS))
    assert "90 waiting" in page
    assert len(few) <= 15, [q["sql"] for q in few.captured_queries]


def test_business_age_counts_working_hours_only():
    from settlements.selectors import business_age, business_hours_between

    tz = timezone.get_current_timezone()
    friday_4pm = timezone.datetime(2026, 3, 6, 16, 0, tzinfo=tz)
    monday_10am = timezone.datetime(2026, 3, 9, 10, 0, tzinfo=tz)
    assert business_hours_between(friday_4pm, monday_10am) == 3.0
    assert business_age(friday_4pm, monday_10am) == "3 business hours"
    two_weeks = monday_10am + timedelta(days=14)
    assert business_hours_between(monday_10am, two_weeks) == 90.0
    assert business_age(monday_10am, two_weeks) == "10 business days"
    assert business_age(monday_10am, monday_10am + timedelta(minutes=20)) == (
        "under 1 business hour"
    )


# ---------------------------------------------------------------------------------------------
# Negotiation brief
# ---------------------------------------------------------------------------------------------


def pdf_text(content: bytes, tmp_path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils provides pdftotext"
    path = tmp_path / "brief.pdf"
    path.write_bytes(content)
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    return " ".join(out.split())


def test_the_brief_is_one_page_with_the_facts_for_the_call(client, specialist, case, tmp_path):
    insurer = Party.objects.create(kind=Party.Kind.LIABILITY_INSURER, name="Peach State Mutual")
    CaseParty.objects.create(
        case=case,
        party=insurer,
        role=CaseParty.Role.LIABILITY_INSURER,
        claim_number="PSM-77",
        policy_limits=Decimal("50000.00"),
    )
    services.log_negotiation(
        case=case,
        logged_by=specialist,
        kind="settlement_report",
        amount=Decimal("100000.00"),
        party=case.firm,
        note="Settled with <Peach State> at mediation",
    )
    propose(case, specialist)
    client.force_login(specialist)
    response = client.get(reverse("settlements:brief", args=[case.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    words = pdf_text(response.content, tmp_path)
    assert "NEGOTIATION BRIEF" in words
    assert "Rosa Delgado" in words and case.number in words
    assert "2025-03-01" in words  # date of injury
    assert "Lien amount (program payments) $10,000.00" in words
    assert "2 lines, $10,000.00 paid" in words
    assert "Peach State Mutual" in words and "$50,000.00" in words
    assert "Settled with <Peach State> at mediation" in words  # escaped, shown as typed
    assert "Full lien $10,000.00" in words
    assert "Procurement-cost reduction $6,500.00 $3,500.00 Default for Georgia" in words
    assert "Statutory half of net" in words
    assert "$2,500.00 and 10% of the lien" in words and "down to $5,500.00" in words
    assert "Page 1 of 1" in words
    assert PhiAccess.objects.filter(
        user=specialist, subject_id=case.member_id, action=PhiAccess.Action.PRINT
    ).exists()


def test_the_brief_compares_figures_given_in_the_query(client, specialist, case, tmp_path):
    client.force_login(specialist)
    url = reverse("settlements:brief", args=[case.pk])
    words = pdf_text(
        client.get(url, {"gross": "20000", "fees": "6000", "costs": "1000"}).content, tmp_path
    )
    # 411.37(c): 7,000 / 20,000 = 0.35 of 10,000 = 3,500 → 6,500; full lien 10,000
    assert "gross $20,000.00, fees $6,000.00, costs $1,000.00" in words
    assert "Procurement-cost reduction $6,500.00 $3,500.00 Default for Georgia" in words
    assert "Page 1 of 1" in words
    assert client.get(url, {"gross": "a lot"}).status_code == 400
    assert client.get(url, {"fees": "10"}).status_code == 400


def test_the_brief_without_any_settlement_figures(client, auditor, case, tmp_path):
    client.force_login(auditor)
    words = pdf_text(client.get(reverse("settlements:brief", args=[case.pk])).content, tmp_path)
    assert "No settlement figures have been reported yet." in words
    assert "Page 1 of 1" in words
