from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from recovery.core import api as core_api

api_patterns = [
    path("auth/token/", core_api.TokenLoginApi.as_view(), name="api-token"),
    path("me/", core_api.MeApi.as_view(), name="api-me"),
    path("users/", core_api.UserListApi.as_view(), name="api-users"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("cases.api_urls")),
    path("", include("liens.api_urls")),
    path("", include("liens.api")),
    path("", include("settlements.api_urls")),
    path("", include("ledger.api_urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("cases/", include("cases.urls")),
    path("settlements/", include("settlements.urls")),
    path("ledger/", include("ledger.urls")),
    path("dashboard/", include("recovery.dashboard.urls")),
    path("", include("liens.urls")),
    path("", include("recovery.core.urls")),
]
