from django.apps import AppConfig


class ProgressConfig(AppConfig):
    name = "pymastery.web.progress"
    label = "progress"
    verbose_name = "Learner progress"
