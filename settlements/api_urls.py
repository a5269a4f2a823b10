from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("settlements", api.SettlementViewSet, basename="settlement")
router.register("negotiation", api.NegotiationViewSet, basename="negotiation-entry")
router.register("adjustments", api.AdjustmentViewSet, basename="balance-adjustment")
router.register("installments", api.InstallmentViewSet, basename="installment")

urlpatterns = [
    # Before the router: `calculate` must never be read as a settlement id.
    path("settlements/calculate/", api.CalculateApi.as_view(), name="api-settlement-calculate"),
    *router.urls,
]
