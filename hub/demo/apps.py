from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "hub.demo"
    label = "demo"
    verbose_name = "Demo data"
