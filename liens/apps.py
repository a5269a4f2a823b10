from django.apps import AppConfig


class LiensConfig(AppConfig):
    name = "liens"
