from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "recovery.core"
    label = "core"
    verbose_name = "Users, audit and notifications"
