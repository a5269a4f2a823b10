"""Pages whose rows grow with the data still run a fixed number of queries."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from cases.models import ImportBatch, Lead
from liens.letters import request_letter
from tests import factories
from tests.liens.letter_helpers import build_case

pytestmark = pytest.mark.django_db


def _count(client, url, django_assert_max_num_queries):
    with django_assert_max_num_queries(40) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_the_leads_queue(client, specialist, django_assert_max_num_queries):
    def add_leads(n):
        for _ in range(n):
            Lead.objects.create(
                member=factories.member(),
                first_service=date(2025, 3, 1),
                hit_lines=2,
                hit_paid=Decimal("10.00"),
            )

    client.force_login(specialist)
    add_leads(2)
    few = _count(client, reverse("cases:leads"), django_assert_max_num_queries)
    add_leads(25)
    assert _count(client, reverse("cases:leads"), django_assert_max_num_queries) == few


def test_the_import_list(client, specialist, django_assert_max_num_queries):
    def add_batches(n):
        for i in range(n):
            ImportBatch.objects.create(
                filename=f"f{i}.csv", sha256=f"{i:064d}", created_by=specialist
            )

    client.force_login(specialist)
    add_batches(2)
    few = _count(client, reverse("cases:import"), django_assert_max_num_queries)
    add_batches(25)
    assert _count(client, reverse("cases:import"), django_assert_max_num_queries) == few


def test_the_letters_tab(
    client, specialist, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    case, firm, insurer = build_case(specialist)
    client.force_login(specialist)
    url = reverse("liens:case-letters", args=[case.pk])

    def add_letters(n):
        for i in range(n):
            request_letter(
                case=case,
                kind="general",
                recipient=firm if i % 2 else insurer,
                requested_by=specialist,
                body=f"Letter {i}",
            )

    add_letters(2)
    few = _count(client, url, django_assert_max_num_queries)
    add_letters(12)
    assert _count(client, url, django_assert_max_num_queries) == few
