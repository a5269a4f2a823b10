"""POST /api/settlements/calculate/ — the fixed interface of DESIGN §6 — and the settlement,
negotiation, installment and adjustment endpoints."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.models import Deadline
from settlements.models import BalanceAdjustment, Installment, NegotiationEntry, Settlement
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/settlements/calculate/"
BODY = {
    "gross_settlement": "20000.00",
    "attorney_fees": "6000.00",
    "costs": "1000.00",
    "program_paid": "5000.00",
}


def post(client, body):
    # Sent as raw JSON so numbers stay numbers (floats included) on the wire.
    return client.post(URL, data=json.dumps(body), content_type="application/json")


def test_answers_every_formula_that_applies_with_decimals_as_strings(api, specialist):
    response = post(api.as_user(specialist), BODY | {"full_value": "100000.00"})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["results"]
    assert list(body["results"]) == ["full_lien", "procurement_cost", "pro_rata", "statutory_half"]
    # full lien 5,000; 411.37(c) 5,000 − 0.35 × 5,000 = 3,250; pro rata 5,000 × 0.2 = 1,000;
    # half of (20,000 − 5,000 − 1,000) = 7,000 → capped at 5,000 paid
    assert {code: result["recovery_amount"] for code, result in body["results"].items()} == {
        "full_lien": "5000.00",
        "procurement_cost": "3250.00",
        "pro_rata": "1000.00",
        "statutory_half": "5000.00",
    }
    procurement = body["results"]["procurement_cost"]
    assert list(procurement) == ["recovery_amount", "steps"]
    assert procurement["steps"][0] == {
        "label": "Procurement costs",
        "amount": "7000.00",
        "formula": "$6,000.00 attorney fees + $1,000.00 costs = $7,000.00",
        "citation": "42 CFR 411.37(a)",
    }
    assert procurement["steps"][2]["amount"] is None
    assert procurement["steps"][2]["citation"] == "42 CFR 411.37(c)(1)"
    for result in body["results"].values():
        for step in result["steps"]:
            assert set(step) == {"label", "amount", "formula", "citation"}


def test_named_formula_answers_only_that_one(api, specialist):
    response = post(api.as_user(specialist), BODY | {"formula": "procurement_cost"})
    assert response.status_code == 200
    assert list(response.json()["results"]) == ["procurement_cost"]
    assert response.json()["results"]["procurement_cost"]["recovery_amount"] == "3250.00"


def test_pro_rata_with_a_stipulated_ratio(api, specialist):
    response = post(
        api.as_user(specialist), BODY | {"allocation_ratio": "0.25", "formula": "pro_rata"}
    )
    assert response.status_code == 200
    # 5,000.00 × 0.25 = 1,250.00
    assert response.json()["results"]["pro_rata"]["recovery_amount"] == "1250.00"


def test_fixed_percentage_and_ordered_amount_are_accepted(api, specialist):
    body = BODY | {
        "gross_settlement": "8000",
        "attorney_fees": 2000,
        "fixed_percentage": "0.25",
        "ordered_amount": "1500.00",
    }
    results = post(api.as_user(specialist), body).json()["results"]
    # 25% × 8,000 = 2,000.00 (≤ 5,000 paid); ordered 1,500.00
    assert results["fixed_percentage"]["recovery_amount"] == "2000.00"
    assert results["ordered"]["recovery_amount"] == "1500.00"


def test_numbers_and_strings_are_both_accepted(api, specialist):
    body = {
        "gross_settlement": 20000,
        "attorney_fees": 6000.5,
        "costs": "999.50",
        "program_paid": 5000,
    }
    response = post(api.as_user(specialist), body)
    assert response.status_code == 200
    assert response.json()["results"]["procurement_cost"]["recovery_amount"] == "3250.00"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"program_paid": "-1.00"}, "program_paid"),
        ({"attorney_fees": "19500.00"}, "attorney_fees"),
        ({"allocation_ratio": "1.5"}, "allocation_ratio"),
        ({"allocation_ratio": "-0.1"}, "allocation_ratio"),
        ({"formula": "pro_rata"}, "full_value"),
        ({"gross_settlement": 20000.125}, "gross_settlement"),
        ({"costs": "12.345"}, "costs"),
        ({"formula": "half_and_half"}, "formula"),
        ({"full_value": "100.00"}, "full_value"),
        ({"gross_settlement": "NaN"}, "gross_settlement"),
        ({"gross_settlement": None}, "gross_settlement"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, specialist, changes, field):
    response = post(api.as_user(specialist), BODY | changes)
    assert response.status_code == 400
    assert field in response.json()


def test_the_messages_are_the_calculators(api, specialist):
    response = post(api.as_user(specialist), BODY | {"attorney_fees": "19500.00"})
    assert response.json() == {"attorney_fees": ["Fees and costs cannot exceed the settlement."]}
    response = post(api.as_user(specialist), BODY | {"costs": 1000.125})
    assert response.json()["costs"] == ["Ensure that there are no more than 2 decimal places."]


def test_missing_inputs_are_a_400(api, specialist):
    response = post(api.as_user(specialist), {"gross_settlement": "1.00"})
    assert response.status_code == 400
    assert {"attorney_fees", "costs", "program_paid"} <= set(response.json())


def test_anonymous_is_401(api):
    assert post(api, BODY).status_code == 401


def test_attorney_is_403(api, attorney):
    assert post(api.as_user(attorney), BODY).status_code == 403


@pytest.mark.parametrize("persona", ["supervisor", "auditor", "admin_user"])
def test_other_staff_including_auditors_may_calculate(api, request, persona):
    user = request.getfixturevalue(persona)
    assert post(api.as_user(user), BODY).status_code == 200


def test_get_is_not_allowed(api, specialist):
    assert api.as_user(specialist).get(URL).status_code == 405


def test_the_endpoint_is_in_the_schema(api, specialist):
    response = api.as_user(specialist).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert "/api/settlements/calculate/" in response.json()["paths"]


# ---------------------------------------------------------------------------------------------
# Settlements
# ---------------------------------------------------------------------------------------------

SETTLEMENTS = "/api/settlements/"
# Georgia (default: procurement-cost reduction), $10,000 lien: 10,000 − 0.35 × 10,000 = 6,500.
PROPOSAL = {
    "gross_settlement": "100000.00",
    "attorney_fees": "33333.33",
    "costs": "1666.67",
}


@pytest.fixture
def case(specialist):
    person = factories.member(first="Rosa", last="Delgado")
    factories.claim_line(person, service_from=date(2025, 3, 1), paid="6000.00")
    factories.claim_line(person, service_from=date(2025, 3, 2), paid="4000.00")
    case = factories.open_case(specialist, person, code="GA")
    case.firm = factories.law_firm()
    factories.attorney_of_record(case, case.firm, specialist)
    case.refresh_from_db()
    return case


def send(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def propose_beyond(api, specialist, case, **extra):
    body = PROPOSAL | {
        "case": case.pk,
        "agreed_recovery": "3000.00",
        "compromise_reason": "Policy limits.",
        "justification": "The insurer will pay no more; the member is disabled.",
        **extra,
    }
    response = send(api.as_user(specialist), SETTLEMENTS, body)
    assert response.status_code == 201, response.json()
    return response.json()


def test_proposing_within_authority_answers_201_accepted_with_decimals_as_strings(
    api, specialist, case
):
    response = send(api.as_user(specialist), SETTLEMENTS, PROPOSAL | {"case": case.pk})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "accepted"
    assert body["formula"] == "procurement_cost"  # Georgia's default
    assert body["computed_recovery"] == body["agreed_recovery"] == "6500.00"
    assert body["reduction_amount"] == "3500.00"
    assert body["within_authority"] is True
    assert body["funds_due_on"] == (timezone.localdate() + timedelta(days=30)).isoformat()
    assert body["proposed_by"]["username"] == "specialist"
    assert body["case_number"] == case.number
    assert [step["citation"] for step in body["calculation"]["steps"]][-1] == "42 CFR 411.37(c)(3)"
    assert case.deadlines.filter(kind=Deadline.Kind.FUNDS_DUE).count() == 1


def test_beyond_authority_is_pending_and_the_supervisor_approves(api, specialist, supervisor, case):
    body = propose_beyond(api, specialist, case)
    assert body["status"] == "pending"
    assert body["within_authority"] is False
    assert body["approver"]["username"] == "supervisor"
    url = f"{SETTLEMENTS}{body['id']}/approve/"
    # the proposer (a specialist) cannot
    assert send(api.as_user(specialist), url).status_code == 403
    response = send(api.as_user(supervisor), url, {"note": "Agreed: policy limits."})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "accepted"
    assert response.json()["decided_by"]["username"] == "supervisor"
    assert response.json()["funds_due_on"]
    # twice is a conflict
    assert send(api.as_user(supervisor), url).status_code == 409


def test_approving_a_requested_reduction_sends_the_decision_letter(
    api, specialist, supervisor, case
):
    body = propose_beyond(api, specialist, case, reduction_requested=True)
    assert body["reduction_requested"] is True
    response = send(api.as_user(supervisor), f"{SETTLEMENTS}{body['id']}/approve/")
    assert response.status_code == 200, response.json()
    kinds = set(case.documents.values_list("kind", flat=True))
    assert {"final_demand", "reduction_decision"} <= kinds


def test_nobody_approves_their_own_settlement(api, supervisor, supervisor2, case):
    body = propose_beyond(api, supervisor, case)
    assert body["approver"]["username"] == "supervisor2"
    response = send(api.as_user(supervisor), f"{SETTLEMENTS}{body['id']}/approve/")
    assert response.status_code == 403
    assert "own" in response.json()["detail"]
    assert Settlement.objects.get(pk=body["id"]).status == Settlement.Status.PENDING


def test_beyond_authority_without_a_justification_is_a_400_naming_it(api, specialist, case):
    body = PROPOSAL | {"case": case.pk, "agreed_recovery": "3000.00", "compromise_reason": "x"}
    response = send(api.as_user(specialist), SETTLEMENTS, body)
    assert response.status_code == 400
    assert "justification" in response.json()
    response = send(
        api.as_user(specialist), SETTLEMENTS, PROPOSAL | {"case": case.pk, "agreed_recovery": "1"}
    )
    assert response.status_code == 400
    assert "compromise_reason" in response.json()
    assert not Settlement.objects.exists()


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"gross_settlement": "abc"}, "gross_settlement"),
        ({"gross_settlement": None}, "gross_settlement"),
        ({"attorney_fees": "200000.00"}, "attorney_fees"),
        ({"formula": "guesswork"}, "formula"),
        ({"formula": "pro_rata"}, "full_value"),
        ({"agreed_recovery": "20000.00"}, "agreed_recovery"),
        ({"costs": "-1.00"}, "costs"),
        ({"case": "x"}, "case"),
    ],
)
def test_bad_proposals_are_400s_naming_the_field(api, specialist, case, changes, field):
    response = send(api.as_user(specialist), SETTLEMENTS, PROPOSAL | {"case": case.pk} | changes)
    assert response.status_code == 400
    assert field in response.json()


def test_a_second_live_settlement_is_a_409(api, specialist, case):
    send(api.as_user(specialist), SETTLEMENTS, PROPOSAL | {"case": case.pk})
    response = send(api.as_user(specialist), SETTLEMENTS, PROPOSAL | {"case": case.pk})
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


def test_rejecting_needs_a_note(api, specialist, supervisor, case):
    body = propose_beyond(api, specialist, case)
    url = f"{SETTLEMENTS}{body['id']}/reject/"
    response = send(api.as_user(supervisor), url, {})
    assert response.status_code == 400
    assert "note" in response.json()
    response = send(api.as_user(supervisor), url, {"note": "   "})
    assert response.status_code == 400
    response = send(api.as_user(supervisor), url, {"note": "Get the declarations page."})
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"


def test_list_and_detail_are_filtered_and_visible_only(api, specialist, specialist2, auditor, case):
    created = send(api.as_user(specialist), SETTLEMENTS, PROPOSAL | {"case": case.pk}).json()
    listing = api.as_user(specialist).get(SETTLEMENTS, {"case": case.pk}).json()
    assert [row["id"] for row in listing["results"]] == [created["id"]]
    assert api.get(SETTLEMENTS, {"status": "pending"}).json()["results"] == []
    assert api.get(SETTLEMENTS, {"status": "nonsense"}).status_code == 400
    assert api.get(SETTLEMENTS, {"case": "x"}).status_code == 400
    detail = api.get(f"{SETTLEMENTS}{created['id']}/")
    assert detail.status_code == 200 and detail.json()["agreed_recovery"] == "6500.00"
    # another team: nothing listed, 404 by id, 404 proposing on the case
    other = api.as_user(specialist2)
    assert other.get(SETTLEMENTS).json()["results"] == []
    assert other.get(f"{SETTLEMENTS}{created['id']}/").status_code == 404
    assert send(other, SETTLEMENTS, PROPOSAL | {"case": case.pk}).status_code == 404
    assert send(other, f"{SETTLEMENTS}{created['id']}/supersede/").status_code == 404
    # the auditor reads everything and writes nothing
    reader = api.as_user(auditor)
    assert reader.get(f"{SETTLEMENTS}{created['id']}/").status_code == 200
    assert send(reader, SETTLEMENTS, PROPOSAL | {"case": case.pk}).status_code == 403
    assert send(reader, f"{SETTLEMENTS}{created['id']}/supersede/").status_code == 403


def test_attorneys_get_a_403_everywhere(api, attorney, specialist, case):
    client = api.as_user(attorney)
    for url in (SETTLEMENTS, "/api/negotiation/", "/api/adjustments/"):
        assert client.get(url).status_code == 403
    assert send(client, SETTLEMENTS, PROPOSAL | {"case": case.pk}).status_code == 403


def test_installments_are_set_up_and_paid(api, specialist, case):
    created = send(api.as_user(specialist), SETTLEMENTS, PROPOSAL | {"case": case.pk}).json()
    url = f"{SETTLEMENTS}{created['id']}/installments/"
    first = (timezone.localdate() + timedelta(days=30)).isoformat()
    assert send(api, url, {"installments": 1, "first_due_on": first}).status_code == 400
    response = send(api, url, {"installments": 3, "first_due_on": first})
    assert response.status_code == 201
    body = response.json()
    assert body["total"] == "6500.00"
    assert [i["amount"] for i in body["installments"]] == ["2166.66", "2166.66", "2166.68"]
    assert send(api, url, {"installments": 3, "first_due_on": first}).status_code == 409
    installment = body["installments"][0]
    response = send(api, f"/api/installments/{installment['id']}/payment/", {"amount": "2166.66"})
    assert response.status_code == 200
    assert response.json()["status"] == "paid"
    response = send(api, f"/api/installments/{installment['id']}/payment/", {"amount": "0"})
    assert response.status_code == 400 and "amount" in response.json()
    assert Installment.objects.get(pk=installment["id"]).received == Decimal("2166.66")


# ---------------------------------------------------------------------------------------------
# Negotiation log
# ---------------------------------------------------------------------------------------------

NEGOTIATION = "/api/negotiation/"


def test_logging_and_listing_the_negotiation(api, specialist, specialist2, auditor, case):
    client = api.as_user(specialist)
    body = {
        "case": case.pk,
        "kind": "offer",
        "party": case.firm.pk,
        "amount": "2500.00",
        "channel": "email",
        "note": "First offer.",
    }
    response = send(client, NEGOTIATION, body)
    assert response.status_code == 201
    assert response.json()["amount"] == "2500.00"
    assert response.json()["party_name"] == case.firm.name
    assert response.json()["created_by"] == "specialist"
    send(client, NEGOTIATION, {"case": case.pk, "kind": "counter_offer", "amount": "6000"})
    rows = client.get(NEGOTIATION, {"case": case.pk}).json()["results"]
    assert [row["kind"] for row in rows] == ["counter_offer", "offer"]
    assert NegotiationEntry.objects.count() == 2
    assert api.as_user(auditor).get(NEGOTIATION, {"case": case.pk}).json()["count"] == 2
    assert api.as_user(specialist2).get(NEGOTIATION, {"case": case.pk}).json()["count"] == 0
    assert send(api.as_user(specialist2), NEGOTIATION, body).status_code == 404
    assert send(api.as_user(auditor), NEGOTIATION, body).status_code == 403


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"kind": "shrug"}, "kind"),
        ({"amount": "-1.00"}, "amount"),
        ({"party": 999999}, "party"),
        ({"occurred_on": "2999-01-01"}, "occurred_on"),
        ({"channel": "pigeon"}, "channel"),
    ],
)
def test_bad_negotiation_entries_are_400s(api, specialist, case, changes, field):
    body = {"case": case.pk, "kind": "offer"} | changes
    response = send(api.as_user(specialist), NEGOTIATION, body)
    assert response.status_code == 400
    assert field in response.json()


def test_a_party_not_on_the_case_is_a_400(api, specialist, case):
    from cases.models import Party

    stranger = Party.objects.create(kind=Party.Kind.LAW_FIRM, name="Elsewhere LLP")
    body = {"case": case.pk, "kind": "offer", "party": stranger.pk}
    response = send(api.as_user(specialist), NEGOTIATION, body)
    assert response.status_code == 400
    assert "party" in response.json()


# ---------------------------------------------------------------------------------------------
# Balance adjustments
# ---------------------------------------------------------------------------------------------

ADJUSTMENTS = "/api/adjustments/"
ADJUSTMENT = {
    "kind": "waiver",
    "amount": "500.00",
    "reason_code": "hardship",
    "reason": "Lost home.",
}


def test_adjustments_are_requested_and_decided(api, specialist, supervisor, auditor, case):
    response = send(api.as_user(specialist), ADJUSTMENTS, ADJUSTMENT | {"case": case.pk})
    assert response.status_code == 201
    created = response.json()
    assert created["status"] == "requested" and created["amount"] == "500.00"
    decide = f"{ADJUSTMENTS}{created['id']}/decide/"
    assert send(api.as_user(specialist), decide, {"approve": True}).status_code == 403
    assert send(api.as_user(auditor), decide, {"approve": True}).status_code == 403
    response = send(api.as_user(supervisor), decide, {"approve": False})
    assert response.status_code == 400 and "note" in response.json()
    assert send(api.as_user(supervisor), decide, {}).status_code == 400
    response = send(api.as_user(supervisor), decide, {"approve": True, "note": "Documented."})
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert response.json()["decided_by"]["username"] == "supervisor"
    assert send(api.as_user(supervisor), decide, {"approve": True}).status_code == 409
    rows = api.as_user(auditor).get(ADJUSTMENTS, {"status": "approved"}).json()["results"]
    assert [row["id"] for row in rows] == [created["id"]]
    assert BalanceAdjustment.objects.get().status == BalanceAdjustment.Status.APPROVED


def test_nobody_decides_their_own_adjustment(api, supervisor, case):
    created = send(api.as_user(supervisor), ADJUSTMENTS, ADJUSTMENT | {"case": case.pk}).json()
    response = send(api, f"{ADJUSTMENTS}{created['id']}/decide/", {"approve": True})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"kind": "amnesty"}, "kind"),
        ({"amount": "0.00"}, "amount"),
        ({"reason_code": "bored"}, "reason_code"),
        ({"reason": ""}, "reason"),
    ],
)
def test_bad_adjustments_are_400s(api, specialist, case, changes, field):
    response = send(api.as_user(specialist), ADJUSTMENTS, ADJUSTMENT | {"case": case.pk} | changes)
    assert response.status_code == 400
    assert field in response.json()


def test_another_team_cannot_reach_the_adjustments(api, specialist, specialist2, case):
    created = send(api.as_user(specialist), ADJUSTMENTS, ADJUSTMENT | {"case": case.pk}).json()
    other = api.as_user(specialist2)
    assert other.get(f"{ADJUSTMENTS}{created['id']}/").status_code == 404
    assert send(other, ADJUSTMENTS, ADJUSTMENT | {"case": case.pk}).status_code == 404


def test_the_new_endpoints_are_in_the_schema(api, specialist):
    paths = api.as_user(specialist).get("/api/schema/", {"format": "json"}).json()["paths"]
    for path in (
        "/api/settlements/",
        "/api/settlements/{id}/",
        "/api/settlements/{id}/approve/",
        "/api/settlements/{id}/reject/",
        "/api/settlements/{id}/installments/",
        "/api/negotiation/",
        "/api/adjustments/",
        "/api/adjustments/{id}/decide/",
        "/api/installments/{id}/payment/",
    ):
        assert path in paths, path
