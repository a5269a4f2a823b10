"""The menu marks exactly one entry as the current page."""

from recovery.core.navigation import nav_for


def _active(user, path):
    return [item["label"] for item in nav_for(user, path) if item["active"]]


def test_a_nested_page_marks_only_its_own_entry(supervisor):
    assert _active(supervisor, "/dashboard/reports/liens/") == ["Reports"]
    assert _active(supervisor, "/dashboard/") == ["Dashboard"]


def test_a_case_page_marks_cases_and_home_marks_my_work(specialist):
    assert _active(specialist, "/cases/12/claims/") == ["Cases"]
    assert _active(specialist, "/") == ["My work"]


def test_a_page_outside_the_menu_marks_nothing(specialist):
    assert _active(specialist, "/password/") == []
