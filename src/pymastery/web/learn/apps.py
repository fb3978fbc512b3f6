from django.apps import AppConfig


class LearnConfig(AppConfig):
    name = "pymastery.web.learn"
    label = "learn"
    verbose_name = "Learning"
