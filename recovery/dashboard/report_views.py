"""The reports' pages, their CSV exports and printable PDFs, and the case audit package.

Every report is read for the signed-in user's slice (`cases_visible_to`); attorneys are refused
(403) before anything is read. `?format=csv` exports one table exactly as the page shows it
(`&table=` picks another table of the page) and `?format=pdf` prints the page's tables on the
agency letterhead with the filters stated at the top. Bad filters are a 400 with the reasons.
"""

import csv
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from cases.selectors import case_get
from recovery.core.audit import log_phi_access
from recovery.core.models import PhiAccess
from recovery.core.pdf import render_pdf
from recovery.core.permissions import staff_required

from . import audit_package, reports
from .forms import PRESETS, LienEventsForm, RecoveriesForm, ReportForm, person
from .views import csv_safe

PAGE_SIZE = 50
PDF_MAX_ROWS = 2000
FORMATS = ("", "html", "csv", "pdf")
QUICK_PRESETS = ("this_month", "last_month", "this_quarter", "fytd", "last_fy")

FORMS = {
    "recoveries": RecoveriesForm,
    "liens": LienEventsForm,
    "compromises": ReportForm,
    "productivity": ReportForm,
}


def _letterhead() -> dict:
    from liens.letters import letterhead

    return letterhead()


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_cell(value) -> str:
    # Figures are written as plain numbers (a negative amount is not a formula); any text goes
    # through `csv_safe`, which neutralises what a spreadsheet would run.
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    return csv_safe(value)


def csv_stream(rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    first = True
    for row in rows:
        line = writer.writerow([_csv_cell(value) for value in row])
        yield ("\ufeff" + line) if first else line
        first = False


def _query(request, *drop: str, **replace) -> str:
    query = request.GET.copy()
    for name in ("format", "page", "table", *drop):
        query.pop(name, None)
    for name, value in replace.items():
        query[name] = value
    return query.urlencode()


def _cells(
    table: reports.Table, row: dict, *, links: bool, request=None, totals: bool = False
) -> list[dict]:
    cells = []
    for column in table.columns:
        value = row.get(column.key)
        cell = {
            # A closing row leaves blank what it does not add up.
            "text": "" if totals and value is None else reports.display(value, column.kind),
            "numeric": column.numeric,
            "link": "",
        }
        if links and column.key == "case" and row.get("_case_id"):
            cell["link"] = reverse("cases:detail", args=[row["_case_id"]])
        elif links and table.drill is not None:
            params = table.drill(row, column.key)
            if params:
                drop = ("jurisdiction",) if "jurisdiction" in params else ()
                cell["link"] = f"?{_query(request, 'event', *drop, **params)}#events"
        cells.append(cell)
    return cells


def _html_table(request, table: reports.Table) -> dict:
    page = None
    if table.is_list:
        page = Paginator(table.queryset, PAGE_SIZE).get_page(request.GET.get("page"))
        objects = [table.to_row(obj) for obj in page.object_list]
    else:
        objects = table.rows
    return {
        "key": table.key,
        "title": table.title,
        "note": table.note,
        "empty": table.empty,
        "headers": [(c.label, c.numeric) for c in table.columns],
        "rows": [
            {
                "cells": _cells(table, row, links=True, request=request),
                "subtotal": row.get("_subtotal", False),
            }
            for row in objects
        ],
        "totals": _cells(table, table.totals, links=True, request=request, totals=True)
        if table.totals is not None
        else None,
        "page": page,
        "csv": f"?{_query(request, format='csv', table=table.key)}",
    }


def _pdf_table(table: reports.Table) -> dict:
    rows = list(table.iter_rows(limit=PDF_MAX_ROWS if table.is_list else None))
    count = table.count() if table.is_list else len(rows)
    note = table.note if not table.drill else ""
    if table.is_list and count > PDF_MAX_ROWS:
        note = f"The first {PDF_MAX_ROWS:,} of {count:,} rows; the CSV export holds them all."
    return {
        "title": table.title,
        "note": note,
        "empty": table.empty,
        "headers": [(c.label, c.numeric) for c in table.columns],
        "rows": [
            {"cells": _cells(table, row, links=False), "subtotal": row.get("_subtotal", False)}
            for row in rows
        ],
        "totals": _cells(table, table.totals, links=False, totals=True)
        if table.totals is not None
        else None,
    }


def _bad_request(form) -> HttpResponseBadRequest:
    errors = "; ".join(
        f"{form.fields[name].label if name in form.fields else 'Filters'}: {' '.join(messages)}"
        for name, messages in form.errors.items()
    )
    return HttpResponseBadRequest(
        f"The filters are not valid: {errors}", content_type="text/plain; charset=utf-8"
    )


def _report_view(slug: str):
    title, description = reports.REPORTS[slug]
    build = reports.BUILDERS[slug]

    @staff_required
    @require_GET
    def view(request):
        fmt = request.GET.get("format", "")
        if fmt not in FORMATS:
            return HttpResponseBadRequest(
                "Unknown format: use csv or pdf.", content_type="text/plain; charset=utf-8"
            )
        form_class = FORMS[slug]
        extra = {"events": reports.LIEN_EVENTS} if form_class is LienEventsForm else {}
        form = form_class(request.GET, user=request.user, **extra)
        if not form.is_valid():
            if fmt in ("csv", "pdf"):
                return _bad_request(form)
            return render(
                request,
                "dashboard/reports/report.html",
                {
                    "slug": slug,
                    "title": title,
                    "description": description,
                    "form": form,
                    "report": None,
                    "presets": [],
                },
                status=400,
            )
        filters = form.filters()
        form.show_period()
        options = {"event": form.cleaned_data.get("event") or ""} if slug == "liens" else {}
        report = build(request.user, filters, **options)
        if fmt == "csv":
            return _csv(request, report)
        if fmt == "pdf":
            return _pdf(request, report)
        names = dict(PRESETS)
        return render(
            request,
            "dashboard/reports/report.html",
            {
                "slug": slug,
                "title": report.title,
                "description": report.description,
                "form": form,
                "report": report,
                "tables": [_html_table(request, table) for table in report.tables],
                "presets": [
                    (
                        names[key],
                        f"?{_query(request, 'date_from', 'date_to', preset=key)}",
                        key == filters.preset,
                    )
                    for key in QUICK_PRESETS
                ],
                "csv_url": f"?{_query(request, format='csv')}",
                "pdf_url": f"?{_query(request, format='pdf')}",
            },
        )

    view.__name__ = f"report_{slug}"
    return view


def _filename(report: reports.Report, key: str, extension: str) -> str:
    f = report.filters
    return f"{key}-{f.date_from:%Y%m%d}-{f.date_to:%Y%m%d}.{extension}"


def _csv(request, report: reports.Report):
    key = request.GET.get("table") or report.tables[0].key
    table = report.table(key)
    if table is None:
        raise Http404("No such table in this report")
    response = StreamingHttpResponse(
        csv_stream(reports.csv_rows(table)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(report, key, "csv")}"'
    response["Cache-Control"] = "no-store"
    return response


def _pdf(request, report: reports.Report):
    now = timezone.localtime()
    pdf = render_pdf(
        "dashboard/reports/pdf.html",
        {
            "agency": _letterhead(),
            "kind_label": report.title,
            "letter_date": now.date(),
            "report": report,
            "filter_rows": report.filter_rows,
            "tables": [_pdf_table(table) for table in report.tables],
            "chart": report.chart,
            "printed_by": person(request.user),
            "printed_at": now,
        },
    )
    response = HttpResponse(pdf.content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{_filename(report, report.slug, "pdf")}"'
    response["Cache-Control"] = "no-store"
    return response


report_recoveries = _report_view("recoveries")
report_liens = _report_view("liens")
report_compromises = _report_view("compromises")
report_productivity = _report_view("productivity")


@staff_required
@require_GET
def reports_index(request):
    entries = [
        {"title": title, "description": description, "url": reverse(f"dashboard:report-{slug}")}
        for slug, (title, description) in reports.REPORTS.items()
    ]
    return render(request, "dashboard/reports/index.html", {"entries": entries})


# ---------------------------------------------------------------------------------------------
# The case audit package
# ---------------------------------------------------------------------------------------------


@staff_required
@require_GET
def case_audit_package(request, pk: int):
    """One ZIP of everything an external auditor needs about a case, built from stored rows
    and files only. The download is written to the PHI access log before anything is sent."""
    case = case_get(user=request.user, id=pk)
    package = audit_package.build(case=case, generated_by=request.user)
    log_phi_access(
        user=request.user,
        subject_type="member",
        subject_ids=[case.member_id],
        action=PhiAccess.Action.EXPORT,
        case_id=case.pk,
        request=request,
        detail="case audit package",
    )
    response = StreamingHttpResponse(audit_package.stream(package), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{package.filename}"'
    response["Cache-Control"] = "no-store"
    return response
