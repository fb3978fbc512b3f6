"""The framework-free core: content model, catalog, validation, runners and grading.

Nothing here imports Django, Typer or Celery; the CLI, the web app and the workers call into it.
"""
