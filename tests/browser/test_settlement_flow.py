"""A settlement beyond the specialist's authority, from proposal to the supervisor's approval."""

import os
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import Case
from recovery.core.models import Role, Team
from settlements.models import Settlement
from tests import factories
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser

# Set SCREENSHOTS=<folder> to keep a picture of each screen the flow passes through.
SCREENSHOTS = os.environ.get("SCREENSHOTS")


def snap(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SCREENSHOTS}/{name}.png", full_page=True)


def test_a_settlement_beyond_authority_is_approved_by_the_supervisor(site, page):
    team = Team.objects.create(name="East")
    boss = make_user("boss", Role.SUPERVISOR, team)
    team.supervisor = boss
    team.save()
    rivera = make_user(
        "rivera",
        Role.SPECIALIST,
        team,
        authority_max_reduction_amount=Decimal("2500.00"),
        authority_max_reduction_percent=Decimal("10.00"),
    )
    person = factories.member(first="Rosa", last="Delgado")
    factories.claim_line(person, service_from=date(2025, 3, 1), paid="6000.00")
    factories.claim_line(person, service_from=date(2025, 3, 2), paid="4000.00")
    case = factories.open_case(rivera, person, code="GA")  # Georgia: procurement-cost default
    assert Case.objects.get(pk=case.pk).lien_amount == Decimal("10000.00")

    sign_in(page, site, "rivera", PASSWORD)
    page.goto(f"{site}/cases/{case.pk}/")
    page.get_by_role("navigation", name="Case sections").get_by_role(
        "link", name="Settlement"
    ).click()
    expect(page.get_by_role("heading", name="Propose settlement")).to_be_visible()

    page.get_by_label("Gross settlement").fill("100000.00")
    page.get_by_label("Attorney fees").fill("33333.33")
    page.get_by_label("Costs", exact=True).fill("1666.67")
    # The formulas are worked out as the figures are typed (htmx).
    preview = page.locator("#proposal-preview")
    expect(preview.locator('[data-formula="procurement_cost"]')).to_contain_text("$6,500.00")
    expect(preview).to_contain_text("Within your authority")

    page.get_by_label("Agreed recovery").fill("3000.00")
    expect(preview).to_contain_text("Beyond your authority")
    expect(preview).to_contain_text("$3,500.00 (35% of the lien)")
    snap(page, "1-proposal-beyond-authority")
    page.get_by_label("Compromise reason").fill("The insurer's policy limit is $25,000.")
    page.get_by_label("Justification for your supervisor").fill(
        "Three claimants share the policy; the member is permanently disabled."
    )
    page.get_by_role("button", name="Propose settlement").click()

    expect(page.get_by_role("status")).to_contain_text("sent to Boss Example for approval")
    current = page.locator("#current-settlement")
    expect(current).to_contain_text("Awaiting supervisor approval")
    expect(current.get_by_role("button", name="Approve")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, site, "boss", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Approvals")
    row = page.locator("#pending-settlements tbody tr").filter(has_text=case.number)
    expect(row).to_contain_text("Rosa Delgado")
    expect(row).to_contain_text("$3,000.00")
    expect(row).to_contain_text("Rivera Example")
    expect(row).to_contain_text(re.compile(r"business (hour|day)"))
    snap(page, "2-approvals")
    row.get_by_role("button", name="Approve").click()

    expect(page.get_by_role("status")).to_contain_text(f"Settlement on {case.number} approved.")
    expect(page.get_by_text("No settlement is waiting for you.")).to_be_visible()

    page.goto(f"{site}/settlements/case/{case.pk}/")
    current = page.locator("#current-settlement")
    expect(current).to_contain_text("Accepted")
    due = timezone.localdate() + timedelta(days=30)
    expect(page.locator("#funds-due")).to_have_text(due.isoformat())
    expect(page.locator("#agreed-recovery")).to_have_text("$3,000.00")
    snap(page, "3-accepted")

    page.get_by_role("navigation", name="Case sections").get_by_role("link", name="Tasks").click()
    expect(
        page.get_by_role("cell", name="Settlement funds due: $3,000.00", exact=True)
    ).to_be_visible()

    settlement = Settlement.objects.get(case=case)
    assert settlement.status == Settlement.Status.ACCEPTED
    assert settlement.decided_by == boss and settlement.proposed_by == rivera
