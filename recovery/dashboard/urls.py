from django.urls import path

from . import report_views, views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="index"),
    path("export/<slug:panel>.csv", views.export_csv, name="export"),
    # Reports (each also ?format=csv and ?format=pdf) and the case audit package.
    path("reports/", report_views.reports_index, name="reports"),
    path("reports/recoveries/", report_views.report_recoveries, name="report-recoveries"),
    path("reports/liens/", report_views.report_liens, name="report-liens"),
    path("reports/compromises/", report_views.report_compromises, name="report-compromises"),
    path("reports/productivity/", report_views.report_productivity, name="report-productivity"),
    path(
        "reports/cases/<int:pk>/audit-package/",
        report_views.case_audit_package,
        name="audit-package",
    ),
]
