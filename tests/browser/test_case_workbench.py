"""A specialist's day in the browser: open a case through intake, then decide its claim lines."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import Case, ClaimLine, EligibilitySpan, Jurisdiction, Member
from recovery.core.models import Role, Team
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser


def paid_line(
    member: Member, claim_number: str, *, days_after: int, dx: str, paid: str, procedure: str
):
    injury = timezone.localdate() - timedelta(days=120)
    return ClaimLine.objects.create(
        member=member,
        claim_number=claim_number,
        line_number=1,
        provider_npi="1234567893",
        provider_name="Bayfront General Hospital",
        service_from=injury + timedelta(days=days_after),
        procedure_code=procedure,
        diagnosis_codes=dx,
        code_set="ICD10",
        billed_amount=Decimal(paid) * 2,
        paid_amount=Decimal(paid),
        paid_date=injury + timedelta(days=days_after + 21),
    )


def test_a_specialist_opens_a_case_and_excluding_a_line_updates_the_lien_in_place(site, page):
    # Transactional tests may start without the migration's reference rows.
    florida, _ = Jurisdiction.objects.get_or_create(
        code="FL", defaults={"name": "Florida", "default_sol_years": 4}
    )
    team = Team.objects.create(name="East")
    make_user("boss", Role.SUPERVISOR, team)
    make_user("rivera", Role.SPECIALIST, team)
    member = Member.objects.create(
        program_id="MC5550001",
        first_name="Rosa",
        last_name="Delgado",
        date_of_birth=date(1979, 3, 2),
        state="FL",
    )
    EligibilitySpan.objects.create(member=member, start=date(2020, 1, 1))
    injury = timezone.localdate() - timedelta(days=120)
    # Paid before intake: the new case attaches them and screening includes the trauma lines.
    paid_line(
        member, "ER20250001", days_after=0, dx="S8290XA V4352XA", paid="1250.00", procedure="99285"
    )
    paid_line(member, "RX20250002", days_after=2, dx="S8290XA", paid="310.50", procedure="73590")
    paid_line(member, "PC20250003", days_after=30, dx="I10 E119", paid="95.00", procedure="99213")

    sign_in(page, site, "rivera", PASSWORD)
    page.goto(f"{site}/cases/new/")
    page.get_by_label("Name or full program id").fill("Delgado")
    page.get_by_role("button", name="Find member").click()
    page.get_by_role("link", name="Choose Rosa Delgado").click()

    page.get_by_label("Date of injury").fill(injury.isoformat())
    page.get_by_label("Kind of incident").select_option("auto")
    # The member lives in Florida: the state is preselected.
    expect(page.get_by_label("State")).to_have_value(str(florida.pk))
    # The statute-of-limitations date is suggested from Florida's rule as the form fills in.
    expect(page.locator("#sol-help")).to_contain_text("Suggested")
    expect(page.get_by_label("Statute of limitations")).not_to_have_value("")
    page.get_by_label("How we learned of it").select_option("attorney_letter")
    page.get_by_role("button", name="Open the case").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("TPL-")
    expect(page.get_by_role("link", name="Claims", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    lien = page.locator("#lien-amount")
    expect(lien).to_have_text("$1,560.50")
    expect(page.locator("table.claims tbody tr")).to_have_count(3)
    expect(page.locator("table.claims")).to_contain_text(
        "Unspecified fracture of unspecified lower leg"
    )

    page.evaluate("window.__sameDocument = true")
    row = page.locator("tr", has_text="ER20250001-1")
    row.locator("summary").click()
    row.get_by_label("Reason").fill("Pre-existing condition, treated before the crash")
    # Enter submits with the row's first button, the one the row offers: Exclude.
    row.get_by_label("Reason").press("Enter")

    expect(lien).to_have_text("$310.50")
    expect(page.locator("#claim-totals")).to_contain_text("$1,345.00")
    row = page.locator("tr", has_text="ER20250001-1")
    expect(row).to_contain_text("Pre-existing condition, treated before the crash")
    expect(row).to_contain_text("Excluded")
    expect(row.locator("summary")).to_be_focused()  # the keyboard stays on the row
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert Case.objects.get(member=member).lien_amount == Decimal("310.50")


def test_the_case_list_filters_as_you_type_and_keeps_the_query_in_the_address(site, page):
    from cases import services

    florida, _ = Jurisdiction.objects.get_or_create(
        code="FL", defaults={"name": "Florida", "default_sol_years": 4}
    )
    team = Team.objects.create(name="East")
    specialist = make_user("rivera", Role.SPECIALIST, team)
    injury = timezone.localdate() - timedelta(days=60)
    for index, last_name in enumerate(["Delgado", "Okafor"]):
        member = Member.objects.create(
            program_id=f"MC555000{index}", first_name="Alex", last_name=last_name
        )
        services.open_case(
            created_by=specialist,
            member=member,
            incident_date=injury,
            incident_kind="auto",
            jurisdiction=florida,
            source="attorney_letter",
        )

    sign_in(page, site, "rivera", PASSWORD)
    page.goto(f"{site}/cases/")
    expect(page.locator("#case-table tbody tr")).to_have_count(2)
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("searchbox", name="Search").fill("Okaf")
    expect(page.locator("#case-table tbody tr")).to_have_count(1)
    expect(page.locator("#case-table")).to_contain_text("Okafor, Alex")
    # The address holds a key for the search, never the name searched for.
    expect(page).to_have_url(re.compile(r"[?&]s=[\w-]+"))
    assert "Okaf" not in page.url
    page.get_by_role("link", name="Case", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=number"))
    header = page.get_by_role("columnheader", name="Case", exact=True)
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(page).to_have_url(re.compile(r"[?&]s=[\w-]+"))
    expect(page.locator("#case-table tbody tr")).to_have_count(1)
    assert "Okaf" not in page.url
    page.get_by_label("Status").select_option("closed")
    expect(page.locator("#case-table")).to_contain_text("No case matches")
    expect(page).to_have_url(re.compile(r"status=closed"))
    assert page.evaluate("window.__sameDocument") is True
    # Loaded afresh, the keyed address shows the search again, its term back in the box.
    page.reload()
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("Okaf")
    expect(page.get_by_label("Status")).to_have_value("closed")
