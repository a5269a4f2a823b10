"""The supervisor dashboard page and its per-panel CSV exports (staff roles only)."""

import csv

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from recovery.core.permissions import staff_required

from . import charts
from .selectors import dashboard_data, panel_tables

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _charts(data: dict) -> dict[str, str]:
    open_cases = data["open_cases"]
    money = data["money"]
    workload = data["workload"]
    return {
        "status": charts.bar_chart(
            [label for label, _n in open_cases["by_status"]],
            [n for _label, n in open_cases["by_status"]],
            title="Open cases by status",
        ),
        "age": charts.bar_chart(
            [f"{label} days" for label, _n in open_cases["by_age"]],
            [n for _label, n in open_cases["by_age"]],
            title="Open cases by age since opened",
        ),
        "deposits": charts.time_series(
            [f"{month[5:]}/{month[2:4]}" for month, _total in money["series"]],
            [total for _month, total in money["series"]],
            title="Deposits received per month, last 12 months",
        ),
        "workload": charts.stacked_bar(
            [p["name"] for p in workload],
            [
                ("Open cases", [p["cases"] for p in workload]),
                ("Open deadlines", [p["deadlines"] for p in workload]),
            ],
            title="Workload by specialist",
        ),
    }


@require_GET
@staff_required
def dashboard(request):
    data = dashboard_data(request.user)
    return render(
        request,
        "dashboard/index.html",
        {"data": data, "tables": panel_tables(data), "charts": _charts(data)},
    )


@require_GET
@staff_required
def export_csv(request, panel: str):
    tables = panel_tables(dashboard_data(request.user))
    table = tables.get(panel)
    if table is None:
        raise Http404("No such panel")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dashboard-{panel}.csv"'
    response["Cache-Control"] = "no-store"
    writer = csv.writer(response)
    writer.writerow([csv_safe(h) for h in table["headers"]])
    for row in table["rows"]:
        writer.writerow([csv_safe(cell) for cell in row])
    return response
