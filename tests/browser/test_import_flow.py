"""Import paid claims through the browser, open the case, exclude a line, watch the lien move."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import Case, EligibilitySpan, Member
from recovery.celery import app as celery_app
from recovery.core.models import Role, Team
from tests import factories
from tests.browser.conftest import sign_in
from tests.cases.test_import import claims_csv, line
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def eager_tasks():
    # The live server has no Celery worker: run the import task in the request that starts it.
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def test_import_claims_then_work_the_case_in_the_browser(site, page, tmp_path, eager_tasks):
    florida = factories.jurisdiction("FL")
    team = Team.objects.create(name="East")
    make_user("boss", Role.SUPERVISOR, team)
    make_user("rivera", Role.SPECIALIST, team)
    member = Member.objects.create(
        program_id="M777000111", first_name="Ana", last_name="Rivera", state="FL"
    )
    EligibilitySpan.objects.create(member=member, start=date(2020, 1, 1))
    injury = timezone.localdate() - timedelta(days=60)
    day = (injury + timedelta(days=1)).isoformat()
    csv_file = tmp_path / "paid-claims.csv"
    csv_file.write_bytes(
        claims_csv(
            line(
                member_id="M777000111",
                claim_number="ER1",
                service_from=day,
                service_to=day,
                paid_date=day,
                paid_amount="900.00",
                diagnosis_codes="S8290XA",
            ),
            line(
                member_id="M777000111",
                claim_number="XR2",
                service_from=day,
                service_to=day,
                paid_date=day,
                paid_amount="120.00",
                diagnosis_codes="S8290XA",
            ),
            line(
                member_id="M777000111",
                claim_number="BAD",
                service_from="not-a-date",
                paid_amount="5.00",
            ),
        )
    )

    sign_in(page, site, "rivera", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Claims import").click()
    page.locator("input[type=file]").set_input_files(str(csv_file))
    page.get_by_role("button", name="Import").click()
    # The bad row is reported with its line number (the header is line 1) and the column.
    rejected = page.locator("section[aria-labelledby=rejects-h] tbody tr")
    expect(rejected).to_have_count(1, timeout=20000)
    expect(rejected.first.locator("td").first).to_have_text("4")
    expect(rejected.first).to_contain_text("service_from")

    page.goto(f"{site}/cases/new/?member={member.pk}")
    page.get_by_label("Date of injury").fill(injury.isoformat())
    page.get_by_label("Kind of incident").select_option("auto")
    expect(page.get_by_label("State")).to_have_value(str(florida.pk))
    page.get_by_label("How we learned of it").select_option("attorney_letter")
    page.get_by_role("button", name="Open the case").click()

    lien = page.locator("#lien-amount")
    expect(lien).to_have_text("$1,020.00")
    row = page.locator("tr", has_text="XR2-1")
    row.locator("summary").click()
    row.get_by_label("Reason").fill("Unrelated imaging")
    row.get_by_label("Reason").press("Enter")
    expect(lien).to_have_text("$900.00")
    assert Case.objects.get(member=member).lien_amount == 900
