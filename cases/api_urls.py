from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("cases", api.CaseViewSet, basename="case")
router.register("members", api.MemberViewSet, basename="member")
router.register("parties", api.PartyViewSet, basename="party")
router.register("claims", api.ClaimLineViewSet, basename="claimline")

urlpatterns = [
    path("jurisdictions/", api.JurisdictionList.as_view(), name="jurisdiction-list"),
    *router.urls,
]
