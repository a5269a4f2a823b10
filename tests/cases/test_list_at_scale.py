"""The case list's query shapes for state scale: capped counting, direction-following
tie-breaks, and search through member and number subqueries with the same answers as before."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.urls import reverse

from cases import selectors, views
from cases.models import Case
from tests import factories

pytestmark = pytest.mark.django_db


def _cases(user, count: int, **extra) -> list[Case]:
    return [
        factories.open_case(user, incident_date=date(2025, 1, 1) + timedelta(days=n), **extra)
        for n in range(count)
    ]


def test_the_count_stops_at_the_cap_and_pages_stop_with_it(specialist):
    _cases(specialist, 7)
    paginator = views.CappedPaginator(selectors.case_list(user=specialist), 2, cap=5)
    assert paginator.count == 6 and paginator.capped
    assert paginator.num_pages == 3
    assert len(paginator.page(3).object_list) == 2
    exact = views.CappedPaginator(selectors.case_list(user=specialist), 2, cap=50)
    assert exact.count == 7 and not exact.capped and exact.num_pages == 4


def test_the_list_says_more_than_the_cap(client, specialist, monkeypatch):
    _cases(specialist, 4)
    monkeypatch.setattr(views, "LIST_COUNT_CAP", 3)
    client.force_login(specialist)
    response = client.get(reverse("cases:list"))
    assert response.status_code == 200
    assert "More than 3 cases" in response.content.decode()
    monkeypatch.setattr(views, "LIST_COUNT_CAP", 10)
    assert "4 cases" in client.get(reverse("cases:list")).content.decode()


def test_ties_follow_the_direction_of_the_sort(specialist):
    cases = _cases(specialist, 4)
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(lien_amount="10.00")
    ids = sorted(c.pk for c in cases)
    up = list(selectors.case_list(user=specialist, sort="lien").values_list("pk", flat=True))
    down = list(selectors.case_list(user=specialist, sort="-lien").values_list("pk", flat=True))
    assert up == ids and down == ids[::-1]


def test_member_sort_orders_by_last_then_first_name(specialist):
    names = [("Zoe", "Adams"), ("Amy", "Adams"), ("Bob", "Baker")]
    for first, last in names:
        factories.open_case(specialist, factories.member(first=first, last=last))
    rows = selectors.case_list(user=specialist, sort="member").select_related("member")
    assert [(c.member.last_name, c.member.first_name) for c in rows] == [
        ("Adams", "Amy"),
        ("Adams", "Zoe"),
        ("Baker", "Bob"),
    ]


def test_search_matches_name_prefixes_program_ids_and_number_suffixes(specialist):
    garcia = factories.open_case(specialist, factories.member(first="Maria", last="Garcia"))
    lee = factories.open_case(
        specialist, factories.member(first="Wei", last="Lee", program_id="M123456789")
    )
    other = factories.open_case(specialist, factories.member(first="Ann", last="Moore"))

    def found(term: str) -> set[int]:
        return set(selectors.case_list(user=specialist, search=term).values_list("pk", flat=True))

    assert found("garc") == {garcia.pk}
    assert found("MAR") == {garcia.pk}  # first name
    assert found("maria garcia") == found("Garcia, Maria") == {garcia.pk}
    assert found("M-123 456 789") == {lee.pk}  # program id, formatted any way
    assert found("M12345") == set()  # a program id must be typed in full
    suffix = other.number[-3:].lstrip("0") or other.number[-1]
    assert other.pk in found(suffix)
    assert found(other.number.lower()) == {other.pk}
    assert found("nobody") == set()


def test_search_keeps_to_what_the_user_may_see(specialist, specialist2):
    mine = factories.open_case(specialist, factories.member(last="Quigley"))
    theirs = factories.open_case(specialist2, factories.member(last="Quigley"))
    visible = set(selectors.case_list(user=specialist, search="quig").values_list("pk", flat=True))
    assert mine.pk in visible and theirs.pk not in visible


def _sorted_after_reading(queryset) -> bool:
    return "COALESCE" in str(queryset.query).split("ORDER BY", 1)[1]


def test_a_supervisors_selective_filter_is_read_then_sorted(specialist, supervisor, monkeypatch):
    """At a million cases a status correlated with the opening date made the walk of the date
    index read seconds' worth of rows for 50 matches; a set the planner expects to be small is
    read through its filters and sorted instead, and a large one keeps the walk."""
    if connection.vendor != "postgresql":
        pytest.skip("the choice rests on PostgreSQL's row estimate")
    cases = _cases(specialist, 6)
    Case.objects.filter(pk=cases[0].pk).update(status=Case.Status.RESEARCH)
    every = list(selectors.case_list(user=supervisor, sort="opened").values_list("pk", flat=True))

    monkeypatch.setattr(selectors, "SORT_AFTER_ROWS", 1_000_000)
    small = selectors.case_list(user=supervisor, status="research", sort="opened")
    assert _sorted_after_reading(small)
    assert list(small.values_list("pk", flat=True)) == [cases[0].pk]
    # The unfiltered list and a search keep the index's order.
    assert not _sorted_after_reading(selectors.case_list(user=supervisor, sort="opened"))
    searched = selectors.case_list(user=supervisor, search=cases[0].member.last_name[:3])
    assert not _sorted_after_reading(searched)

    monkeypatch.setattr(selectors, "SORT_AFTER_ROWS", 0)
    walked = selectors.case_list(user=supervisor, status="open", sort="opened")
    assert not _sorted_after_reading(walked)
    # Both shapes give the same rows in the same order.
    monkeypatch.setattr(selectors, "SORT_AFTER_ROWS", 1_000_000)
    read = selectors.case_list(user=supervisor, status="open", sort="opened")
    assert _sorted_after_reading(read)
    assert list(read.values_list("pk", flat=True)) == list(walked.values_list("pk", flat=True))
    assert set(every) >= set(read.values_list("pk", flat=True))
    # A filter that can match nothing has nothing to estimate: an empty list, not an error.
    assert list(selectors.case_list(user=supervisor, assigned_to="nobody")) == []


def test_the_member_sort_is_read_then_sorted_only_for_a_tenth_as_many(
    specialist, supervisor, monkeypatch
):
    """Sorting by member joins each selected case to its member before sorting, so a set the
    other sorts would read and sort is walked in the member order instead."""
    _cases(specialist, 2)
    monkeypatch.setattr(selectors, "_estimated_rows", lambda cases: 50_000)
    by_date = selectors.case_list(user=supervisor, status="research", sort="opened")
    by_member = selectors.case_list(user=supervisor, status="research", sort="member")
    assert _sorted_after_reading(by_date)
    assert not _sorted_after_reading(by_member)
    monkeypatch.setattr(selectors, "_estimated_rows", lambda cases: 9_000)
    assert _sorted_after_reading(
        selectors.case_list(user=supervisor, status="research", sort="-member")
    )
