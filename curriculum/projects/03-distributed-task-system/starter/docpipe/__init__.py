"""docpipe: a document-processing service on Celery, RabbitMQ, Redis and PostgreSQL."""

from docpipe.documents import Document, InvalidDocument, PageSpec, parse_document
from docpipe.jobs import create_tables, job_status, submit

__all__ = [
    "Document",
    "InvalidDocument",
    "PageSpec",
    "create_tables",
    "job_status",
    "parse_document",
    "submit",
]
