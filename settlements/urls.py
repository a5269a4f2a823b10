from django.urls import path

from . import views

app_name = "settlements"

urlpatterns = [
    path("calculator/", views.calculator_page, name="calculator"),
    path("calculator/results/", views.calculator_results, name="results"),
]
