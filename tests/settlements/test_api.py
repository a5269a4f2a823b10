"""POST /api/settlements/calculate/ — the fixed interface of DESIGN §6."""

import json

import pytest

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
