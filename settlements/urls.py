from django.urls import path

from . import views

app_name = "settlements"

urlpatterns = [
    path("calculator/", views.calculator_page, name="calculator"),
    path("calculator/results/", views.calculator_results, name="results"),
    path("approvals/", views.approvals, name="approvals"),
    path("case/<int:pk>/", views.case_settlement, name="case"),
    path("case/<int:pk>/negotiation/", views.negotiation_add, name="negotiation-add"),
    path("case/<int:pk>/preview/", views.proposal_preview, name="preview"),
    path("case/<int:pk>/propose/", views.propose, name="propose"),
    path("case/<int:pk>/adjustments/", views.adjustment_request, name="adjustment-request"),
    path("case/<int:pk>/brief.pdf", views.brief_pdf, name="brief"),
    path("<int:id>/approve/", views.approve, name="approve"),
    path("<int:id>/reject/", views.reject, name="reject"),
    path("<int:id>/supersede/", views.supersede, name="supersede"),
    path("<int:id>/installments/", views.installments, name="installments"),
    path("installments/<int:id>/payment/", views.installment_payment, name="payment"),
    path("adjustments/<int:id>/decide/", views.adjustment_decide, name="adjustment-decide"),
]
