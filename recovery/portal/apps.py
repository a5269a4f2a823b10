from django.apps import AppConfig


class PortalConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recovery.portal"
    label = "portal"
    verbose_name = "Attorney portal"
