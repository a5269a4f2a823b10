"""The main screens for keyboard and screen-reader users: axe-core finds no serious or critical
WCAG 2 A/AA violation on any of them, and the case list and case page work from the keyboard
alone."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser import axe, world
from tests.browser.conftest import sign_in, sign_out
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def check(page, screen: str, failures: list[str]) -> None:
    try:
        axe.assert_accessible(page, screen)
    except AssertionError as error:
        failures.append(str(error))


def case_tab_urls(page) -> list[tuple[str, str]]:
    tabs = page.get_by_role("navigation", name="Case sections").get_by_role("link")
    return [
        (tabs.nth(i).inner_text(), tabs.nth(i).get_attribute("href")) for i in range(tabs.count())
    ]


def test_the_main_screens_have_no_serious_or_critical_violations(site, page, eager_tasks):
    w = world.build()
    case = world.busy_case(w)
    other = world.case_with_release_requested(w)
    failures: list[str] = []

    page.goto(f"{site}/login/")
    check(page, "Sign in", failures)
    page.get_by_role("button", name="Sign in").click()  # empty: the form shows its errors
    check(page, "Sign in with errors", failures)

    sign_in(page, site, w.specialist.username, PASSWORD)
    check(page, "My work (specialist)", failures)
    page.goto(f"{site}/cases/")
    check(page, "Case list", failures)
    page.goto(f"{site}/cases/{case.pk}/")
    tabs = case_tab_urls(page)
    assert [label for label, _ in tabs] == [
        "Summary",
        "Parties",
        "Claims",
        "Lien",
        "Letters",
        "Settlement",
        "Money",
        "Activity",
        "Tasks",
        "Documents",
        "History",
    ]
    for label, href in tabs:
        page.goto(f"{site}{href}")
        check(page, f"Case page, {label} tab", failures)
        if label == "Lien":
            # Amendment, release and withdrawal each label their own reason field.
            expect(page.get_by_label("Reason:", exact=True)).to_have_count(3)
    page.goto(f"{site}/cases/{other.pk}/lien/")
    check(page, "Case page, Lien tab with a change waiting", failures)
    page.goto(f"{site}/cases/new/")
    check(page, "Intake: find the member", failures)
    page.get_by_label("Name or full program id").fill("Okafor")
    page.get_by_role("button", name="Find member").click()
    check(page, "Intake: members found", failures)
    page.goto(f"{site}/cases/new/?member={w.member.pk}")
    check(page, "Intake: the incident", failures)
    page.get_by_role("button", name="Open the case").click()  # empty: errors, duplicate warning
    check(page, "Intake with errors", failures)
    page.goto(f"{site}/cases/import/")
    check(page, "Claims import", failures)
    expect(page.get_by_label("Claims file", exact=True)).to_have_accessible_description(
        re.compile("^A CSV in the claims layout")
    )
    page.goto(f"{site}/portal/disputes/")
    check(page, "Disputes from attorneys", failures)
    sign_out(page)

    sign_in(page, site, w.supervisor.username, PASSWORD)
    check(page, "My work (supervisor)", failures)
    page.goto(f"{site}/settlements/approvals/")
    check(page, "Approvals", failures)
    page.goto(f"{site}/ledger/")
    check(page, "Holding account", failures)
    page.goto(f"{site}/dashboard/")
    check(page, "Dashboard", failures)
    page.goto(f"{site}/cases/{other.pk}/lien/")
    check(page, "Case page, Lien tab, deciding a release", failures)
    sign_out(page)

    sign_in(page, site, w.attorney.username, PASSWORD)
    check(page, "Portal home", failures)
    page.get_by_role("link", name=case.number).click()
    check(page, "Portal case", failures)
    page.get_by_role("button", name="Send dispute").click()  # empty: the form shows its errors
    check(page, "Portal case with errors", failures)

    assert not failures, "\n\n".join(failures)


def test_the_check_finds_what_it_is_meant_to_find(site, page):
    page.goto(f"{site}/login/")
    assert axe.violations(page) == []
    page.evaluate(
        """() => {
          const main = document.getElementById("main");
          main.append(document.createElement("input"));
          const faint = document.createElement("p");
          faint.textContent = "Faint text";
          faint.style.color = "#ccc";
          main.append(faint);
          const hidden = document.createElement("details");
          hidden.innerHTML = "<summary>More</summary><button></button>";
          main.append(hidden);
        }"""
    )
    assert {v["id"] for v in axe.violations(page)} == {"label", "color-contrast"}
    assert "button-name" in {v["id"] for v in axe.violations(page, open_disclosures=True)}


def test_the_case_list_works_from_the_keyboard(site, page, eager_tasks):
    w = world.build()
    case = world.busy_case(w)
    world.case_with_release_requested(w)
    sign_in(page, site, w.specialist.username, PASSWORD)
    page.goto(f"{site}/cases/")

    # The first Tab lands on the skip link, which moves focus to the main content.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()

    # From there: the search field, where typing filters the list.
    search = page.get_by_role("searchbox", name=re.compile("^Search"))
    tab_to(page, search)
    page.keyboard.type("Okafor")
    rows = page.locator("#case-table tbody tr")
    expect(rows).to_have_count(1)
    # A filter is a select operated with the arrow keys.
    status = page.get_by_label("Status")
    tab_to(page, status)
    with page.expect_response(re.compile(r"/cases/")):
        page.keyboard.press("ArrowDown")
    expect(status).not_to_have_value("")
    with page.expect_response(re.compile(r"/cases/")):
        page.keyboard.press("ArrowUp")
    expect(status).to_have_value("")
    expect(rows).to_have_count(1)
    # A sort header is a link: Enter sorts.
    sort = page.get_by_role("link", name="Case", exact=True)
    tab_to(page, sort)
    page.keyboard.press("Enter")
    expect(page.get_by_role("columnheader", name=re.compile("^Case"))).to_have_attribute(
        "aria-sort", "ascending"
    )
    # Enter on a case link opens the case.
    tab_to(page, page.get_by_role("link", name=case.number))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.number)


def test_the_case_page_tabs_and_forms_work_from_the_keyboard(site, page, eager_tasks):
    w = world.build()
    case = world.busy_case(w)
    sign_in(page, site, w.specialist.username, PASSWORD)
    page.goto(f"{site}/cases/{case.pk}/")
    sections = page.get_by_role("navigation", name="Case sections")

    for name in ("Claims", "Money", "Summary"):
        tab = sections.get_by_role("link", name=name, exact=True)
        tab_to(page, tab)
        page.keyboard.press("Enter")
        expect(sections.get_by_role("link", name=name, exact=True)).to_have_attribute(
            "aria-current", "page"
        )

    # A popover form opens with the keyboard, and Tab walks through it and out again.
    toggle = page.locator("summary", has_text="Change status")
    tab_to(page, toggle)
    page.keyboard.press("Enter")
    move_to = page.get_by_label("Move to")
    expect(move_to).to_be_visible()
    tab_to(page, move_to)
    tab_to(page, page.get_by_role("button", name="Save status"))
    page.keyboard.press("Tab")
    popover = toggle.locator("xpath=..")
    assert not popover.evaluate("(details) => details.contains(document.activeElement)"), (
        "focus is trapped in the popover"
    )
    expect(page.locator("summary", has_text="Return to queue")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Save status")).to_be_focused()

    # The claim line's inline form: open, type the reason, Enter submits; focus stays on the row.
    claims = sections.get_by_role("link", name="Claims", exact=True)
    tab_to(page, claims)
    page.keyboard.press("Enter")
    line = page.get_by_role("row", name=re.compile("ER26061501-1"))
    change = line.locator("summary")
    tab_to(page, change)
    page.keyboard.press("Enter")
    reason = line.get_by_label("Reason")
    tab_to(page, reason)
    page.keyboard.type("Billed twice by the hospital")
    page.keyboard.press("Enter")
    line = page.get_by_role("row", name=re.compile("ER26061501-1"))
    expect(line).to_contain_text("Excluded")
    expect(line.locator("summary")).to_be_focused()

    # The idle warning is not modal: Tab moves past its button.
    page.evaluate("() => { document.getElementById('idle-warning').hidden = false; }")
    stay = page.get_by_role("button", name="Stay signed in")
    stay.focus()
    page.keyboard.press("Tab")
    expect(stay).not_to_be_focused()


def tab_to(page, target, *, limit: int = 80) -> None:
    """Press Tab until `target` has the focus, checking each stop shows where the focus is."""
    for _ in range(limit):
        if target.evaluate("(el) => document.activeElement === el"):
            return
        page.keyboard.press("Tab")
        assert_focus_visible(page)
    raise AssertionError(f"Tab did not reach {target} in {limit} presses")


def assert_focus_visible(page) -> None:
    """The focused element shows a focus indicator (an outline or a box shadow)."""
    style = page.evaluate(
        """() => {
          const el = document.activeElement;
          if (!el || el === document.body) return null;
          const s = getComputedStyle(el);
          return {tag: el.tagName, text: (el.innerText || el.name || '').slice(0, 40),
                  outline: s.outlineStyle, width: s.outlineWidth, shadow: s.boxShadow};
        }"""
    )
    if style is None:
        return
    visible = (style["outline"] != "none" and style["width"] != "0px") or style["shadow"] != "none"
    assert visible, f"no visible focus on {style}"
