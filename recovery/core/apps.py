from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "recovery.core"
    label = "core"
    verbose_name = "Users, audit and notifications"

    def ready(self):
        # Connects the login hook that records whether a user owes a second factor.
        from . import otp  # noqa: F401
