"""The settlement calculator page and its htmx results partial."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

PAGE = "/settlements/calculator/"
RESULTS = "/settlements/calculator/results/"
INPUTS = {
    "gross_settlement": "20000.00",
    "attorney_fees": "6000.00",
    "costs": "1000.00",
    "program_paid": "5000.00",
}


def card(html: str, code: str) -> str:
    """The markup of one formula's card."""
    match = re.search(
        rf'<section class="([^"]*)"[^>]*data-formula="{code}">(.*?)</section>', html, re.S
    )
    assert match, f"no card for {code}"
    return match.group(1) + match.group(2)


def htmx(client, params, trigger_name=None):
    headers = {"HX-Request": "true"}
    if trigger_name:
        headers["HX-Trigger-Name"] = trigger_name
    return client.get(RESULTS, params, headers=headers)


def test_urls_are_named():
    assert reverse("settlements:calculator") == PAGE
    assert reverse("settlements:results") == RESULTS


def test_page_renders_for_a_specialist_without_inline_script_or_style(client, specialist):
    client.force_login(specialist)
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Settlement calculator" in html
    assert "Enter the settlement, attorney fees, costs and program payments" in html
    # sliders that re-calculate through htmx, and the form itself
    assert 'type="range"' in html
    assert 'hx-trigger="input changed delay:200ms consume"' in html
    assert 'hx-trigger="input changed delay:200ms, submit"' in html
    # CSP allows only files from /static/: no inline script, no style attributes
    assert "<script>" not in html
    assert " style=" not in html


def test_full_page_compares_every_formula_with_steps_and_citations(client, specialist):
    client.force_login(specialist)
    html = client.get(PAGE, INPUTS | {"full_value": "100000.00"}).content.decode()
    # full lien 5,000; 411.37(c) 3,250; pro rata 5,000 × 0.2 = 1,000; half of 14,000 → 5,000
    assert "$3,250.00" in card(html, "procurement_cost")
    assert "42 CFR 411.37(c)(2)" in card(html, "procurement_cost")
    assert "$1,000.00" in card(html, "pro_rata")
    assert "Ahlborn" in card(html, "pro_rata")
    assert "Fla. Stat. §409.910(11)(f)" in card(html, "statutory_half")
    assert "Does not apply" in card(html, "fixed_percentage")
    assert "Does not apply" in card(html, "ordered")
    # no jurisdiction: the general default is marked
    assert "is-default" in card(html, "procurement_cost")


def florida(**rules):
    """Florida with its seeded default (set here: a flushed table loses migration data)."""
    state = factories.jurisdiction("FL")
    for name, value in ({"default_formula": "statutory_half"} | rules).items():
        setattr(state, name, value)
    state.save()
    return state


def test_jurisdiction_default_is_marked(client, specialist):
    florida()
    factories.jurisdiction("GA")
    client.force_login(specialist)
    html = client.get(PAGE, INPUTS | {"jurisdiction": "FL"}).content.decode()
    assert "is-default" in card(html, "statutory_half")
    assert "Default for Florida" in card(html, "statutory_half")
    assert "is-default" not in card(html, "procurement_cost")
    html = client.get(PAGE, INPUTS | {"jurisdiction": "GA"}).content.decode()
    assert "is-default" in card(html, "procurement_cost")
    html = client.get(
        PAGE, INPUTS | {"jurisdiction": "FL", "default": "full_lien"}
    ).content.decode()
    assert "Chosen default" in card(html, "full_lien")


def test_htmx_partial_returns_only_the_results(client, specialist):
    client.force_login(specialist)
    response = htmx(client, INPUTS | {"fixed_percentage": "25", "gross_settlement": "8000.00"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    # 25% × 8,000 = 2,000.00 (≤ 5,000 paid)
    assert "$2,000.00" in card(html, "fixed_percentage")
    # typed amounts lead: the sliders follow, out of band (8,000 settlement, 6,000 fees = 75%)
    assert re.search(
        r'<input type="range" name="what_if_gross" value="8000.00"[^>]*hx-swap-oob', html
    )
    assert re.search(r'name="what_if_fees" value="75.0"[^>]*hx-swap-oob', html)
    assert 'name="gross_settlement"' not in html


def test_moving_the_settlement_slider_recalculates_and_updates_the_amounts(client, specialist):
    client.force_login(specialist)
    params = INPUTS | {"what_if_gross": "40000", "what_if_fees": "30"}
    html = htmx(client, params, trigger_name="what_if_gross").content.decode()
    # settlement 40,000, fees 30% = 12,000; 411.37(c): (12,000 + 1,000) ÷ 40,000 = 0.325;
    # share 0.325 × 5,000 = 1,625.00; recovery 3,375.00
    assert "$3,375.00" in card(html, "procurement_cost")
    assert re.search(r'name="gross_settlement" value="40000.00"[^>]*hx-swap-oob', html)
    assert re.search(r'name="attorney_fees" value="12000.00"[^>]*hx-swap-oob', html)
    # the slider being moved is never swapped under the user's pointer
    assert 'name="what_if_gross"' not in html


def test_moving_the_fee_slider_changes_only_the_fees(client, specialist):
    client.force_login(specialist)
    params = INPUTS | {"what_if_gross": "99999", "what_if_fees": "25"}
    html = htmx(client, params, trigger_name="what_if_fees").content.decode()
    # fees 25% × 20,000 = 5,000; (5,000 + 1,000) ÷ 20,000 = 0.3; 5,000 − 1,500 = 3,500.00
    assert "$3,500.00" in card(html, "procurement_cost")
    assert re.search(r'name="attorney_fees" value="5000.00"[^>]*hx-swap-oob', html)
    assert 'name="gross_settlement"' not in html


def test_while_typing_the_missing_amounts_are_named_not_flagged(client, specialist):
    client.force_login(specialist)
    params = {name: "" for name in INPUTS} | {"gross_settlement": "20000.00"}
    html = htmx(client, params).content.decode()
    assert "Enter the attorney fees, costs and program payments to compare the formulas." in html
    assert "required" not in html


def test_invalid_inputs_are_named(client, specialist):
    client.force_login(specialist)
    html = htmx(client, INPUTS | {"attorney_fees": "19500.00"}).content.decode()
    assert "Fees and costs cannot exceed the settlement." in html
    assert 'href="#id_attorney_fees"' in html
    html = htmx(client, INPUTS | {"costs": "-1"}).content.decode()
    assert "Must not be negative." in html
    html = htmx(client, INPUTS | {"fixed_percentage": "125"}).content.decode()
    assert "Enter a percentage between 0 and 100." in html
    html = htmx(client, INPUTS | {"costs": "1.005"}).content.decode()
    assert "Costs" in html and "decimal places" in html


def test_opened_from_a_case_starts_from_its_lien_and_splits_the_federal_share(client, specialist):
    person = factories.member()
    factories.claim_line(
        person, service_from=date(2025, 3, 2), paid="6000.00", fmap_rate=Decimal("0.9")
    )
    factories.claim_line(
        person, service_from=date(2025, 3, 3), paid="4000.00", fmap_rate=Decimal("0.6")
    )
    florida()
    case = factories.open_case(specialist, person, code="FL")
    case.refresh_from_db()
    assert case.lien_amount == Decimal("10000.00")
    client.force_login(specialist)

    html = client.get(PAGE, {"case": case.pk}).content.decode()
    assert case.number in html
    assert re.search(r'name="program_paid" value="10000.00"', html)
    assert re.search(r'<option value="FL" selected>', html)
    assert f'name="case" value="{case.pk}"' in html
    assert person.last_name not in html  # no member data on this page

    # recovering half the lien (a 5,000.00 ordered amount): 3,000 × 0.9 + 2,000 × 0.6 = 3,900
    params = {
        "case": case.pk,
        "jurisdiction": "FL",
        "gross_settlement": "20000.00",
        "attorney_fees": "5000.00",
        "costs": "0.00",
        "program_paid": "10000.00",
        "ordered_amount": "5000.00",
    }
    html = htmx(client, params).content.decode()
    ordered = card(html, "ordered")
    assert "Federal share <strong>$3,900.00</strong>" in ordered
    assert "state share <strong>$1,100.00</strong>" in ordered
    assert "is-default" in card(html, "statutory_half")


def test_a_jurisdictions_fixed_percentage_option_is_prefilled(client, specialist):
    florida(fixed_percentage=Decimal("0.2500"), fixed_threshold=Decimal("10000.00"))
    client.force_login(specialist)
    html = client.get(PAGE, {"jurisdiction": "FL"}).content.decode()
    assert re.search(r'name="fixed_percentage" value="25"', html)
    assert re.search(r'name="fixed_threshold" value="10000.00"', html)


def test_a_case_the_user_may_not_see_is_a_404(client, specialist, specialist2):
    other = factories.open_case(specialist2)
    client.force_login(specialist)
    assert client.get(PAGE, {"case": other.pk}).status_code == 404
    assert htmx(client, INPUTS | {"case": other.pk}).status_code == 404
    assert client.get(PAGE, {"case": "nope"}).status_code == 404


def test_auditor_may_use_the_calculator(client, auditor):
    client.force_login(auditor)
    assert client.get(PAGE).status_code == 200
    assert htmx(client, INPUTS).status_code == 200


def test_attorney_gets_403(client, attorney):
    client.force_login(attorney)
    assert client.get(PAGE).status_code == 403
    assert htmx(client, INPUTS).status_code == 403


def test_anonymous_goes_to_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_only_get(client, specialist):
    client.force_login(specialist)
    assert client.post(PAGE, INPUTS).status_code == 405
