from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "recovery.dashboard"
    label = "dashboard"
    verbose_name = "Supervisor dashboard"

    def ready(self):
        from django.db.models.signals import post_save

        from .selectors import ledger_posted

        post_save.connect(
            ledger_posted, sender="ledger.Transaction", dispatch_uid="dashboard-ledger-posted"
        )
