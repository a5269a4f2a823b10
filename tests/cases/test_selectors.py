from datetime import date

import pytest

from cases.selectors import cases_visible_to
from recovery.core.models import Role
from tests import factories
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_visibility_by_role(
    specialist, specialist2, supervisor, auditor, attorney, attorney2, admin_user
):
    east = factories.open_case(specialist)
    west = factories.open_case(specialist2, incident_date=date(2025, 4, 1))
    firm = factories.law_firm("Firm One")
    other_firm = factories.law_firm("Firm Two")
    factories.attorney_of_record(east, firm, specialist)
    factories.attorney_of_record(west, other_firm, specialist2)
    attorney.party = firm
    attorney.save()
    assert set(cases_visible_to(specialist)) == {east}
    assert set(cases_visible_to(specialist2)) == {west}
    assert set(cases_visible_to(supervisor)) == {east, west}
    assert set(cases_visible_to(auditor)) == {east, west}
    assert set(cases_visible_to(admin_user)) == {east, west}
    assert set(cases_visible_to(attorney)) == {east}
    assert set(cases_visible_to(attorney2)) == set()  # no firm on record: nothing


def test_an_attorney_of_a_firm_sees_cases_filed_under_the_firms_attorneys(specialist):
    firm = factories.law_firm("Firm")
    lawyer = firm.attorneys.create(kind="attorney", name="Pat Counsel", bar_number="123")
    case = factories.open_case(specialist)
    factories.attorney_of_record(case, lawyer, specialist)
    portal_user = make_user("firmuser", Role.ATTORNEY, party=firm)
    assert list(cases_visible_to(portal_user)) == [case]


def test_an_inactive_attorney_link_stops_visibility(specialist, attorney):
    firm = factories.law_firm()
    case = factories.open_case(specialist)
    link = factories.attorney_of_record(case, firm, specialist)
    attorney.party = firm
    attorney.save()
    link.is_active = False
    link.save()
    assert not cases_visible_to(attorney).exists()


def test_team_specialists_see_unassigned_team_cases(specialist, supervisor):
    queued = factories.open_case(supervisor)
    assert queued.team == supervisor.team and queued.assigned_to is None
    assert list(cases_visible_to(specialist)) == [queued]


def test_unassigned_team_less_cases_are_in_every_specialists_queue(
    specialist, specialist2, admin_user
):
    admin_user.team = None
    admin_user.save()
    queued = factories.open_case(admin_user)
    assert queued.team is None and queued.assigned_to is None
    assert list(cases_visible_to(specialist)) == [queued]
    assert list(cases_visible_to(specialist2)) == [queued]
