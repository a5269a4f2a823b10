from django.urls import path

from . import views

app_name = "ledger"

urlpatterns = [
    path("", views.holding, name="holding"),
    # A case's Money tab and what it posts.
    path("case/<int:pk>/", views.case_money, name="case"),
    path("case/<int:pk>/deposit/", views.record_deposit, name="deposit"),
    path("case/<int:pk>/disbursement/", views.request_payment, name="request"),
    path("case/<int:pk>/split/", views.split_preview, name="split-preview"),
    path("disbursements/<int:id>/approve/", views.approve, name="approve"),
    path("disbursements/<int:id>/reject/", views.reject, name="reject"),
    path("disbursements/<int:id>/cancel/", views.cancel, name="cancel"),
    path("transactions/<int:id>/reverse/", views.reverse_transaction, name="reverse"),
    # Reconciliation.
    path("reconciliation/", views.statements, name="reconciliation"),
    path("reconciliation/<int:id>/", views.statement, name="statement"),
    path("reconciliation/month-end/", views.month_end, name="month-end"),
    # Reports (each also as CSV with ?format=csv).
    path("reports/", views.reports_index, name="reports"),
    path("reports/trial-balance/", views.trial_balance, name="trial-balance"),
    path("reports/held/", views.held_balances, name="held"),
    path("reports/register/", views.register, name="register"),
    path("reports/federal-share/", views.federal_share, name="federal-share"),
    path("reports/aging/", views.aging, name="aging"),
    path("reports/general-ledger/", views.gl_export, name="gl-export"),
]
