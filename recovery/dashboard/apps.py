from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "recovery.dashboard"
    label = "dashboard"
    verbose_name = "Supervisor dashboard"
