"""The whole journey of one case, through the screens only: from an attorney's letter of
representation to a closed case whose recovery shows on the supervisor's dashboard.

The world before the case (users, the state, the law firm, the insurer, the member) is built in
Python; every later change is made by a person clicking through the product. Each step is a named
block: when one fails, `var/test-results/journey-<step>.png` shows the screen it failed on.
"""

import re
import time

import pytest
from playwright.sync_api import expect

from cases.models import Case, Jurisdiction
from ledger.models import Disbursement
from liens.models import Lien
from tests.browser import world
from tests.browser.conftest import sign_in, sign_out, step
from tests.conftest import PASSWORD
from tests.pdfs import pdf_text

pytestmark = pytest.mark.browser


def open_tab(page, name: str) -> None:
    page.get_by_role("navigation", name="Case sections").get_by_role(
        "link", name=name, exact=True
    ).click()
    expect(
        page.get_by_role("navigation", name="Case sections").get_by_role(
            "link", name=name, exact=True
        )
    ).to_have_attribute("aria-current", "page")


def main_nav(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def flash(page):
    """The messages the last action left (a status region of list items)."""
    return page.get_by_role("status").filter(has=page.get_by_role("listitem"))


def open_case(page, number: str) -> None:
    main_nav(page, "Cases")
    page.get_by_role("link", name=number, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)


def choose(select, text: str) -> None:
    """Pick the option of a <select> whose label contains `text`."""
    label = select.locator("option", has_text=text).first.text_content().strip()
    select.select_option(label=label)


def send_letter(page, kind: str, recipient: str) -> None:
    page.get_by_label("Letter", exact=True).select_option(label=kind)
    choose(page.get_by_label("To", exact=True), recipient)
    page.get_by_role("button", name="Send", exact=True).click()


def test_a_case_from_letter_of_representation_to_closure(
    site, page, tmp_path, eager_tasks, record_property
):
    w = world.build()
    timings: dict[str, float] = {}
    started = time.monotonic()
    page.set_default_timeout(15000)
    firm = w.firm.name
    insurer = w.insurer.name

    with step(page, "1-intake", timings):
        sign_in(page, site, w.specialist.username, PASSWORD)
        main_nav(page, "Cases")
        page.get_by_role("link", name="Open a case").click()
        page.get_by_label("Name or full program id").fill("Okafor")
        page.get_by_role("button", name="Find member").click()
        page.get_by_role("link", name="Choose Grace Okafor").click()
        page.get_by_label("Date of injury").fill(world.INJURY.isoformat())
        page.get_by_label("Kind of incident").select_option("auto")
        georgia = Jurisdiction.objects.get(code="GA")
        expect(page.get_by_label("State", exact=True)).to_have_value(str(georgia.pk))
        page.get_by_label("How we learned of it").select_option("attorney_letter")
        page.get_by_label("What happened").fill(
            "Letter of representation from Marsh & Lindqvist LLP: rear-ended at a red light."
        )
        page.get_by_role("button", name="Open the case").click()
        expect(flash(page)).to_contain_text("opened")
        number = page.get_by_role("heading", level=1).inner_text().split()[0]
        assert number.startswith("TPL-")
        case = Case.objects.get(number=number)

        open_tab(page, "Parties")
        choose(page.get_by_label("Party", exact=True), firm)
        page.get_by_label("Role").select_option(label="Member's attorney of record")
        page.get_by_role("button", name="Add to case").click()
        expect(flash(page)).to_contain_text(firm)
        choose(page.get_by_label("Party", exact=True), insurer)
        page.get_by_label("Role").select_option(label="Liability insurer")
        page.get_by_label("Claim number").fill("MM-26-0615-448")
        page.get_by_role("button", name="Add to case").click()
        expect(flash(page)).to_contain_text(insurer)

    with step(page, "1-import-claims", timings):
        main_nav(page, "Claims import")
        page.get_by_label("Claims file", exact=True).set_input_files(str(world.CLAIMS_CSV))
        page.get_by_role("button", name="Import").click()
        expect(page.get_by_text("Done")).to_be_visible()
        open_case(page, number)
        open_tab(page, "Claims")
        lien = page.locator("#lien-amount")
        expect(page.locator("table.claims tbody tr")).to_have_count(4)
        expect(lien).to_have_text("$10,350.00")

    with step(page, "1-exclude-line", timings):
        row = page.get_by_role("row", name=re.compile("PT26070903-1"))
        row.locator("summary").click()
        row.get_by_label("Reason").fill("Paid by the member's med-pay coverage, not the program")
        row.get_by_role("button", name="Exclude").click()
        expect(lien).to_have_text("$10,000.00")

    with step(page, "1-file-lien", timings):
        open_tab(page, "Lien")
        page.get_by_role("button", name="Create draft lien").click()
        page.get_by_text("File the lien").click()
        choose(page.get_by_label("Filed with"), firm)
        page.get_by_label("Method").select_option(label="Certified mail")
        page.get_by_label("Certified mail number").fill("9407 1118 9876 5432 1000 26")
        page.get_by_role("button", name="File for $10,000.00").click()
        expect(flash(page)).to_contain_text("filed")

    with step(page, "1-letters", timings):
        open_tab(page, "Letters")
        send_letter(page, "Notice of lien", firm)
        send_letter(page, "Itemized statement", firm)
        for kind in ("Notice of lien", "Itemized statement"):
            row = page.get_by_role("row", name=re.compile(f"^{kind}"))
            expect(row).to_contain_text(firm)
            expect(row).to_contain_text("Ready")
        sign_out(page)

    with step(page, "2-portal", timings):
        sign_in(page, site, w.attorney.username, PASSWORD)
        expect(page.get_by_role("heading", level=1)).to_have_text("My cases")
        page.get_by_role("link", name=number).click()
        with page.expect_download() as download:
            page.get_by_role("listitem").filter(has_text="Notice of lien").get_by_role(
                "link", name="Download"
            ).click()
        content = open(download.value.path(), "rb").read()
        assert content.startswith(b"%PDF")
        text = pdf_text(content, tmp_path)
        assert number in text and "10,000.00" in text

    with step(page, "2-dispute", timings):
        page.get_by_label(re.compile("27759")).check()
        page.get_by_label("Reason").fill(
            "The surgery treated a knee injury from 2024, not the crash."
        )
        page.get_by_role("button", name="Send dispute").click()
        expect(flash(page)).to_contain_text("dispute was sent")
        sign_out(page)

    with step(page, "3-decide-dispute", timings):
        sign_in(page, site, w.specialist.username, PASSWORD)
        page.get_by_role("link", name=re.compile("attorney disputed 1 claim line")).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Disputes from attorneys")
        dispute = page.get_by_role("article").filter(has_text=number)
        dispute.get_by_label("Decision").select_option(label="Deny")
        dispute.get_by_label("Reason").fill(
            "The operative report ties the tibial nailing to the crash of 2026-06-15."
        )
        dispute.get_by_role("button", name="Decide").click()
        expect(flash(page)).to_contain_text(f"Dispute on {number} decided.")
        expect(page.get_by_text("No open disputes.")).to_be_visible()

    with step(page, "3-propose-settlement", timings):
        open_case(page, number)
        open_tab(page, "Settlement")
        page.get_by_label("Gross settlement").fill("100000.00")
        page.get_by_label("Attorney fees").fill("33333.33")
        page.get_by_label("Costs", exact=True).fill("1666.67")
        preview = page.locator("#proposal-preview")
        expect(preview.locator('[data-formula="procurement_cost"]')).to_contain_text("$6,500.00")
        page.get_by_label("Agreed recovery").fill("5000.00")
        expect(preview).to_contain_text("Beyond your authority")
        page.get_by_label("The attorney asked for a reduction").check()
        page.get_by_label("Compromise reason").fill("The liability policy limit is $100,000.")
        page.get_by_label("Justification for your supervisor").fill(
            "Permanent impairment of the right leg; the insurer tendered its limit."
        )
        page.get_by_role("button", name="Propose settlement").click()
        expect(flash(page)).to_contain_text("for approval")
        sign_out(page)

    with step(page, "3-approve-settlement", timings):
        sign_in(page, site, w.supervisor.username, PASSWORD)
        main_nav(page, "Dashboard")
        this_month = page.get_by_role("region", name="Recovered").get_by_role("definition").first
        expect(this_month).to_contain_text("$0.00 received")
        main_nav(page, "Approvals")
        row = page.get_by_role("row").filter(has_text=number)
        expect(row).to_contain_text("$5,000.00")
        row.get_by_role("button", name="Approve").click()
        expect(flash(page)).to_contain_text(f"Settlement on {number} approved.")
        sign_out(page)

    with step(page, "4-deposit", timings):
        sign_in(page, site, w.specialist.username, PASSWORD)
        open_case(page, number)
        open_tab(page, "Money")
        form = page.get_by_role("region", name="Record a deposit")
        form.get_by_label("Amount").fill("5100.00")
        form.get_by_label("Instrument").select_option(label="Check")
        form.get_by_label("Reference").fill("CHK 20418")
        form.get_by_label("Payer").fill("Magnolia Mutual Insurance Company")
        form.get_by_label("Settlement").select_option(index=1)
        form.get_by_role("button", name="Post deposit").click()
        expect(flash(page)).to_contain_text("Deposit of $5,100.00")
        held = page.locator("#held-balance")
        expect(held).to_have_text("$5,100.00")

    with step(page, "4-request-disbursements", timings):
        form = page.get_by_role("region", name="Request a disbursement")
        choose(form.get_by_label("Purpose"), "Program recovery")
        form.get_by_label("Payee").fill("Georgia Department of Community Health")
        form.get_by_label("Amount").fill("5000.00")
        expect(form.get_by_role("status")).to_contain_text("$1,100.00 state share")
        expect(form.get_by_role("status")).to_contain_text("$3,900.00 federal share")
        form.get_by_role("button", name="Request disbursement").click()
        expect(flash(page)).to_contain_text("Disbursement of $5,000.00 requested")
        form = page.get_by_role("region", name="Request a disbursement")
        form.get_by_label("Purpose").select_option(label="Refund to attorney")
        form.get_by_label("Payee").fill(firm)
        form.get_by_label("Amount").fill("100.00")
        form.get_by_label("Note").fill("Check exceeded the agreed recovery by $100.00.")
        form.get_by_role("button", name="Request disbursement").click()
        expect(flash(page)).to_contain_text("Disbursement of $100.00 requested")
        sign_out(page)

    with step(page, "4-approve-disbursements", timings):
        sign_in(page, site, w.supervisor2.username, PASSWORD)
        main_nav(page, "Holding account")
        pending = page.get_by_role("region", name=re.compile("Awaiting approval"))
        for amount in ("$5,000.00", "$100.00"):
            row = pending.get_by_role("row").filter(has_text=number).filter(has_text=amount)
            row.get_by_role("button", name=re.compile("^Approve")).click()
            expect(row).to_contain_text("Approved and posted")
        sign_out(page)

    with step(page, "4-held-balance", timings):
        sign_in(page, site, w.specialist.username, PASSWORD)
        open_case(page, number)
        open_tab(page, "Money")
        expect(page.locator("#held-balance")).to_have_text("$0.00")
        paid_out = page.get_by_role("table", name=re.compile("^Disbursement requests"))
        expect(paid_out.get_by_role("row").filter(has_text="Program recovery")).to_contain_text(
            re.compile(r"State \$1,100.00\s*Federal \$3,900.00")
        )

    with step(page, "4-release-lien", timings):
        open_tab(page, "Lien")
        page.get_by_text("Request release").first.click()
        page.get_by_role("textbox", name="Reason").fill("Settlement paid and disbursed.")
        page.get_by_role("button", name="Request release").click()
        expect(flash(page)).to_contain_text("Release requested")
        sign_out(page)
        sign_in(page, site, w.supervisor.username, PASSWORD)
        main_nav(page, "Approvals")
        page.get_by_role("row").filter(has_text=number).get_by_role(
            "link", name="Review on the case"
        ).click()
        page.get_by_role("button", name="Approve").click()
        expect(flash(page)).to_contain_text("Release approved.")
        expect(page.get_by_role("heading", name=re.compile("^Lien"))).to_contain_text("Released")
        sign_out(page)

    with step(page, "4-close", timings):
        sign_in(page, site, w.specialist.username, PASSWORD)
        open_case(page, number)
        open_tab(page, "Letters")
        send_letter(page, "Release of lien", firm)
        expect(page.get_by_role("row", name=re.compile("Release of lien.*Ready"))).to_be_visible()
        page.get_by_text("Change status").click()
        page.get_by_label("Move to").select_option(label="Closed")
        page.get_by_label(re.compile("^Outcome")).select_option(label="Compromised")
        page.get_by_role("button", name="Save status").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Closed")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Compromised")
        sign_out(page)

    with step(page, "5-dashboard", timings):
        sign_in(page, site, w.supervisor.username, PASSWORD)
        main_nav(page, "Dashboard")
        this_month = page.get_by_role("region", name="Recovered").get_by_role("definition").first
        expect(this_month).to_contain_text("$5,100.00 received of $10,000.00 in liens settled")

    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED and case.outcome == Case.Outcome.COMPROMISED
    assert case.liens.get().status == Lien.Status.RELEASED
    assert set(
        Disbursement.objects.filter(case=case).values_list("status", "decided_by__username")
    ) == {(Disbursement.Status.APPROVED, w.supervisor2.username)}
    # Wall time of the whole journey and of each step (a figure to watch, not a timed test).
    record_property("journey_seconds", round(time.monotonic() - started, 1))
    record_property("step_seconds", timings)
    print(f"journey: {time.monotonic() - started:.1f} s", timings)


class FakePage:
    def __init__(self):
        self.shots = []

    def screenshot(self, *, path, full_page):
        self.shots.append(path)


def test_a_failing_step_leaves_a_screenshot_named_after_it(monkeypatch, tmp_path):
    from tests.browser import conftest

    monkeypatch.setattr(conftest, "RESULTS", tmp_path)
    page, timings = FakePage(), {}
    with step(page, "1-fine", timings):
        pass
    with pytest.raises(AssertionError, match="the lien is wrong"), step(page, "2-broken", timings):
        raise AssertionError("the lien is wrong")

    assert page.shots == [str(tmp_path / "journey-2-broken.png")]
    assert set(timings) == {"1-fine", "2-broken"}
