"""No PHI in URLs: the staff searches post their term, the session keeps it under a short key,
and addresses, links, htmx attributes and redirects carry only that key."""

import logging
import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from recovery.core.models import PhiAccess
from tests import factories

NAME = "Quetzalcoatl"
PROGRAM_ID = "MC8675309"


@pytest.fixture
def searched(specialist):
    person = factories.member(last=NAME, program_id=PROGRAM_ID)
    factories.claim_line(person, service_from=date(2025, 3, 2))
    case = factories.open_case(specialist, person)
    others = [factories.open_case(specialist) for _ in range(2)]
    return case, others


def _no_term(text: str, *terms: str) -> None:
    for term in terms or (NAME, PROGRAM_ID):
        assert term.lower() not in text.lower(), f"{term!r} found in {text[:200]!r}"


def _urls_in(body: str) -> list[str]:
    return re.findall(r'(?:href|hx-get|hx-post|action)="([^"]*)"', body)


def _rows(response) -> list[str]:
    return [case.number for case in response.context["rows"]]


@pytest.mark.parametrize("term", [NAME, PROGRAM_ID])
def test_the_case_search_posts_and_redirects_to_an_address_without_the_term(
    client, specialist, searched, term
):
    case, _ = searched
    client.force_login(specialist)
    response = client.post(reverse("cases:list"), {"q": term, "status": "open"})
    assert response.status_code == 302
    location = response["Location"]
    _no_term(location)
    query = parse_qs(urlsplit(location).query)
    assert query["status"] == ["open"] and len(query["s"][0]) <= 10
    page = client.get(location)
    assert _rows(page) == [case.number]
    body = page.content.decode()
    # The box shows the term; no link, form or htmx attribute of the page carries it.
    assert f'name="q" value="{term}"' in body
    for url in _urls_in(body):
        _no_term(url)


def test_the_htmx_search_swaps_the_table_and_pushes_a_keyed_address(client, specialist, searched):
    case, others = searched
    client.force_login(specialist)
    response = client.post(
        reverse("cases:list"), {"q": NAME, "sort": "number"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="case-table"')
    assert _rows(response) == [case.number]
    pushed = response["HX-Push-Url"]
    _no_term(pushed)
    key = parse_qs(urlsplit(pushed).query)["s"][0]
    for url in _urls_in(body):
        _no_term(url)
    sort_links = [url for url in _urls_in(body) if url.startswith("?")]
    assert sort_links and all(f"s={key}" in url for url in sort_links)
    # Sorting from the swapped table keeps the search by its key.
    resorted = client.get(f"{reverse('cases:list')}?s={key}&sort=-number", HTTP_HX_REQUEST="true")
    assert _rows(resorted) == [case.number]


def test_sorting_and_paging_keep_the_search_and_its_box_shows_the_term(client, specialist):
    people = [factories.member(last=f"{NAME}{n:02d}") for n in range(55)]
    cases = [factories.open_case(specialist, person) for person in people]
    factories.open_case(specialist)  # not found by the search
    client.force_login(specialist)
    location = client.post(reverse("cases:list"), {"q": NAME})["Location"]
    key = parse_qs(urlsplit(location).query)["s"][0]
    first = client.get(f"{location}&sort=number")
    numbers = sorted(case.number for case in cases)
    assert _rows(first) == numbers[:50] and first.context["page"].paginator.count == 55
    body = first.content.decode()
    assert f"?s={key}&amp;sort=number&amp;page=2" in body
    second = client.get(reverse("cases:list"), {"s": key, "sort": "number", "page": "2"})
    assert _rows(second) == numbers[50:]
    assert f'name="q" value="{NAME}"' in second.content.decode()
    for url in _urls_in(second.content.decode()):
        _no_term(url, NAME)


def test_an_old_address_with_the_term_is_turned_into_a_keyed_one(client, specialist, searched):
    client.force_login(specialist)
    response = client.get(reverse("cases:list"), {"q": NAME, "due": "week"})
    assert response.status_code == 302
    _no_term(response["Location"])
    assert "due=week" in response["Location"]


def test_a_key_is_only_good_in_the_session_that_made_it(client, specialist, searched):
    client.force_login(specialist)
    location = client.post(reverse("cases:list"), {"q": NAME})["Location"]
    other = Client()
    other.force_login(specialist)
    page = other.get(location)
    assert page.status_code == 200 and len(_rows(page)) == 3
    assert "no longer kept" in page.content.decode()
    assert 'name="q" value=""' in page.content.decode()


def test_the_search_form_is_csrf_protected(specialist, searched):
    client = Client(enforce_csrf_checks=True)
    client.force_login(specialist)
    assert client.post(reverse("cases:list"), {"q": NAME}).status_code == 403
    form = client.get(reverse("cases:list")).content.decode()
    assert 'method="post"' in form and "csrfmiddlewaretoken" in form


def test_the_session_keeps_a_bounded_number_of_searches(client, specialist):
    client.force_login(specialist)
    keys = [
        parse_qs(urlsplit(client.post(reverse("cases:list"), {"q": f"term{n}"})["Location"]).query)[
            "s"
        ][0]
        for n in range(25)
    ]
    again = client.post(reverse("cases:list"), {"q": "term24"})["Location"]
    assert f"s={keys[-1]}" in again  # the same term keeps its key
    assert len(client.session["searches"]) == 20
    assert client.get(reverse("cases:list"), {"s": keys[0]}).context["search_expired"]


def test_the_access_log_records_the_search_without_the_term(client, specialist, searched):
    case, _ = searched
    client.force_login(specialist)
    client.get(client.post(reverse("cases:list"), {"q": PROGRAM_ID})["Location"])
    entry = PhiAccess.objects.get(user=specialist, action="search")
    assert entry.subject_id == case.member_id
    _no_term(entry.path + entry.detail)


@pytest.mark.parametrize("term", [NAME, PROGRAM_ID])
def test_the_intake_member_search_keeps_the_term_out_of_the_address(
    client, specialist, searched, term
):
    case, _ = searched
    client.force_login(specialist)
    response = client.post(reverse("cases:new"), {"q": term})
    assert response.status_code == 302
    _no_term(response["Location"])
    page = client.get(response["Location"])
    assert [m.pk for m in page.context["results"]] == [case.member_id]
    body = page.content.decode()
    assert f'value="{term}"' in body
    for url in _urls_in(body):
        _no_term(url)
    assert PhiAccess.objects.filter(
        user=specialist, action="search", subject_id=case.member_id
    ).exists()
    old = client.get(reverse("cases:new"), {"q": term})
    assert old.status_code == 302
    _no_term(old["Location"])


def test_log_records_of_a_member_search_carry_no_name_or_program_id(
    client, specialist, attorney, searched, caplog
):
    outsider = Client()
    outsider.force_login(attorney)
    client.force_login(specialist)
    with caplog.at_level(logging.DEBUG):
        # Refused and bad requests are logged (django.request): by path, never the query.
        assert outsider.get(reverse("cases:list"), {"q": NAME}).status_code == 403
        assert client.get("/api/members/", {"search": PROGRAM_ID, "state": "??"}).status_code == 400
        for url in (reverse("cases:list"), reverse("cases:new")):
            for term in (NAME, PROGRAM_ID):
                client.get(client.post(url, {"q": term})["Location"])
                client.get(url, {"q": term})  # an old address, redirected
        client.get("/api/cases/", {"search": NAME})  # the API's fixed search parameter
        client.get("/api/members/", {"search": PROGRAM_ID})
    assert caplog.records
    for record in caplog.records:
        _no_term(record.getMessage())
