from django.urls import path

from . import api

urlpatterns = [
    path("settlements/calculate/", api.CalculateApi.as_view(), name="api-settlement-calculate"),
]
