import pytest
from playwright.sync_api import expect

from recovery.core.models import Role
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser

# role → (menu entries it must see, entries it must not see)
EXPECTED = {
    Role.SPECIALIST: (["My work", "API"], ["Team", "Access log", "Admin", "My cases"]),
    Role.SUPERVISOR: (["My work", "Team", "Access log", "API"], ["Admin", "My cases"]),
    Role.AUDITOR: (["My work", "Team", "Access log"], ["Admin", "My cases"]),
    Role.ADMIN: (["My work", "Team", "Access log", "Admin"], ["My cases"]),
    Role.ATTORNEY: (["My cases"], ["My work", "Team", "Access log", "Admin", "API"]),
}


def test_each_role_signs_in_and_sees_its_navigation(site, page):
    for role, (visible, hidden) in EXPECTED.items():
        make_user(f"user-{role}", role)
        sign_in(page, site, f"user-{role}", PASSWORD)
        nav = page.get_by_role("navigation", name="Main")
        for label in visible:
            expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
        for label in hidden:
            expect(nav.get_by_role("link", name=label, exact=True)).to_have_count(0)
        heading = "My cases" if role == Role.ATTORNEY else "My work"
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_wrong_password_shows_an_error_and_no_session(site, page):
    make_user("specialist", Role.SPECIALIST)
    sign_in(page, site, "specialist", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("did not match")
    page.goto(f"{site}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_the_idle_warning_appears_before_the_session_ends(site, page, settings):
    # A short idle window (set on the server) makes the warning show within the test's time.
    settings.SESSION_COOKIE_AGE = 6
    make_user("specialist", Role.SPECIALIST)
    sign_in(page, site, "specialist", PASSWORD)
    warning = page.get_by_role("alertdialog")
    expect(warning).to_be_visible(timeout=5000)
    page.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_be_hidden()
    # Left alone, the page returns to sign-in when the idle time runs out.
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=15000)
