"""The hot queries of DESIGN §7 keep their indexes: dropping one fails here, not in production.

The test database is tiny, so the planner would rightly read it sequentially; each EXPLAIN runs
with ``enable_seqscan = off`` (only for that transaction) so what is checked is whether an index
*can* serve the query: the named index must appear in the plan, and no large table may be read
by a sequential scan.
"""

from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases import reminders, selectors
from cases.models import ClaimLine
from ledger import reports
from tests import factories

pytestmark = pytest.mark.django_db

LARGE_TABLES = {
    "cases_case",
    "cases_member",
    "cases_claimline",
    "cases_caseclaim",
    "cases_deadline",
    "cases_activity",
    "cases_caseparty",
    "cases_document",
    "cases_historicalcase",
    "cases_historicalcaseclaim",
    "ledger_entry",
    "ledger_transaction",
    "liens_lien",
    "liens_lienfilingline",
    "settlements_settlement",
}


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def plan_of(sql: str, params=None, *, off: tuple[str, ...] = ()) -> list[dict]:
    """The plan with sequential scans (and whatever else `off` names) priced out."""
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in ("enable_seqscan", *off):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        (document,) = cursor.fetchone()
        transaction.set_rollback(True)
    return list(_nodes(document[0]["Plan"]))


def plan_of_queryset(queryset, *, off: tuple[str, ...] = ()) -> list[dict]:
    sql, params = queryset.query.sql_with_params()
    return plan_of(sql, params, off=off)


def indexes_used(nodes: list[dict]) -> set[str]:
    return {node["Index Name"] for node in nodes if "Index Name" in node}


def seq_scans(nodes: list[dict]) -> set[str]:
    return {
        node["Relation Name"]
        for node in nodes
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in LARGE_TABLES
    }


def assert_uses(queryset_or_nodes, *indexes: str, off: tuple[str, ...] = ()) -> None:
    """One of `indexes` is in the plan, and no large table is read whole."""
    nodes = (
        queryset_or_nodes
        if isinstance(queryset_or_nodes, list)
        else plan_of_queryset(queryset_or_nodes, off=off)
    )
    assert set(indexes) & indexes_used(nodes), (indexes, indexes_used(nodes))
    assert not seq_scans(nodes), seq_scans(nodes)


@pytest.fixture
def world(specialist, supervisor, specialist2):
    cases = []
    for n, (first, last) in enumerate([("Maria", "Garcia"), ("Wei", "Lee"), ("Ann", "Moore")]):
        person = factories.member(first=first, last=last, program_id=f"M55500000{n}")
        for day in range(3):
            factories.claim_line(person, service_from=date(2025, 3, 2) + timedelta(days=day))
        cases.append(factories.open_case(specialist if n < 2 else specialist2, person))
    with connection.cursor() as cursor:
        # Every table, so the plans depend on these rows and not on what earlier tests (or
        # a truncated scale seed) left in the statistics.
        cursor.execute("ANALYZE")
    return cases


def _last_name_indexes() -> tuple[str, ...]:
    """(last_name, first_name) and last_name's own index: either gives the member order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'cases_member'"
            " AND indexdef LIKE '%%(last_name%%'"
        )
        return tuple(row[0] for row in cursor.fetchall())


SORT_INDEXES = {
    "-opened": "case_opened_idx",
    "opened": "case_opened_idx",
    "lien": "case_lien_idx",
    "-lien": "case_lien_idx",
    "incident": "case_incident_idx",
    "-incident": "case_incident_idx",
    "sol": "case_sol_idx",
    "-sol": "case_sol_idx",
    "status": "case_status_idx",
    "-status": "case_status_idx",
    "number": "cases_case_number_key",
    "-number": "cases_case_number_key",
}


def test_each_sort_of_the_list_reads_its_index_in_order(world, supervisor):
    # Sorting priced out: the index itself must deliver the order a page of 50 needs.
    for sort, index in SORT_INDEXES.items():
        queryset = selectors.case_list(user=supervisor, sort=sort)[:50]
        assert_uses(queryset, index, off=("enable_sort", "enable_incremental_sort"))
    # By member: the name index gives (last, first); ties on the case id sort incrementally.
    for sort in ("member", "-member"):
        queryset = selectors.case_list(user=supervisor, sort=sort)[:50]
        assert_uses(queryset, *_last_name_indexes(), off=("enable_sort",))


def test_a_specialists_list_and_its_count_read_no_table_whole(world, specialist):
    for sort in [*SORT_INDEXES, "member"]:
        nodes = plan_of_queryset(selectors.case_list(user=specialist, sort=sort)[:50])
        assert not seq_scans(nodes), sort
    capped = selectors.case_list(user=specialist).order_by()[:10_001]
    assert not seq_scans(plan_of_queryset(capped.values("pk")))


SEARCHES = [
    ("garc", ("member_name_prefix_idx",)),
    ("Maria Garcia", ("member_name_prefix_idx", "member_first_prefix_idx")),
    ("Garcia, Maria", ("member_name_prefix_idx", "member_first_prefix_idx")),
    ("wei", ("member_first_prefix_idx",)),
    # The unique index or its varchar_pattern_ops twin: both serve "=".
    (
        "M555000001",
        ("cases_member_program_id_hash_key", "cases_member_program_id_hash_aa02a297_like"),
    ),
    ("123", ("case_number_reversed_idx",)),
]


def test_search_reads_the_search_indexes(world, supervisor, specialist):
    # Only bitmap scans left: those need an index condition, so a whole-index read that
    # filters every row (what a tiny table invites) cannot stand in for the search index.
    bitmaps_only = ("enable_indexscan", "enable_indexonlyscan")
    for user in (supervisor, specialist):
        for term, indexes in SEARCHES:
            queryset = selectors.case_list(user=user, search=term)[:50]
            assert_uses(queryset, *indexes, off=bitmaps_only)


def test_search_by_case_number_reads_the_unique_index(world, supervisor):
    number = world[0].number
    assert_uses(
        selectors.case_list(user=supervisor, search=number)[:50],
        "cases_case_number_key",
        "cases_case_number_980c9551_like",  # the varchar_pattern_ops twin serves = as well
        off=("enable_indexscan", "enable_indexonlyscan"),
    )


def test_the_case_page_and_its_tabs_read_no_table_whole(world, client, specialist):
    client.force_login(specialist)
    case = world[0]
    # The summary (what opening a case shows), the history and the tasks; the claims tab's
    # query is checked below (rendering it loads the ICD-10-CM tables, seconds of parsing).
    names = ["cases:detail", "cases:history", "cases:tasks"]
    for name in names:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(name, args=[case.pk])).status_code == 200
        for query in queries.captured_queries:
            sql = query["sql"]
            if not sql.startswith("SELECT"):
                continue
            assert not seq_scans(plan_of(sql)), (name, sql)


def test_claim_lines_of_a_case_are_found_by_index(world):
    case = world[0]
    nodes = plan_of_queryset(selectors.case_claims(case))
    assert not seq_scans(nodes)
    assert any(
        node.get("Relation Name") == "cases_caseclaim"
        and "Index Name" in node
        or node["Node Type"] == "Bitmap Heap Scan"
        and node.get("Relation Name") == "cases_caseclaim"
        for node in nodes
    )
    lines = ClaimLine.objects.filter(member_id=case.member_id, service_from__gte=case.incident_date)
    member_index = next(
        index.name
        for index in ClaimLine._meta.indexes
        if index.fields == ["member", "service_from"]
    )
    assert_uses(lines, member_index)


def test_the_deadline_scan_reads_the_open_deadline_index(world):
    today = timezone.localdate()
    sql, params = reminders.reminder_insert_sql(
        today=today, now=timezone.now(), bands=reminders.thresholds()
    )
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in reminders.scan_setup_sql():
            cursor.execute(statement)
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        (document,) = cursor.fetchone()
        transaction.set_rollback(True)
    nodes = list(_nodes(document[0]["Plan"]))
    # Either partial index of open deadlines serves it (by due date, or by owner and due date).
    assert {"deadline_open_due_idx", "deadline_open_owner_idx"} & indexes_used(nodes)
    assert not seq_scans(nodes)


def test_the_trial_balance_can_be_an_index_only_scan(world):
    # Plain and bitmap index scans priced out too: the covering index alone must serve it.
    nodes = plan_of_queryset(
        reports.trial_balance_queryset(), off=("enable_indexscan", "enable_bitmapscan")
    )
    scans = [n for n in nodes if n.get("Index Name") == "entry_account_amount_idx"]
    assert scans and scans[0]["Node Type"] == "Index Only Scan"
