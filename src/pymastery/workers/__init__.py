"""Celery workers: the shell that grades cohort submissions, on this machine or others."""

from pymastery.workers.celery import app

__all__ = ["app"]
