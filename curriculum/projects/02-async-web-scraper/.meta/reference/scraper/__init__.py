"""scraper: a polite, resumable asynchronous web crawler that stores pages in PostgreSQL.

Run it as `python -m scraper crawl SEED [SEED ...] [options]` (see cli.py and SPEC.md).
The pure pieces are importable for tests and reuse:

    normalize_url(href, base) -> str | None     one spelling per URL
    parse_page(html, url) -> ParsedPage          title and <a href> links
"""

from scraper.config import CrawlConfig
from scraper.crawler import CrawlReport, crawl
from scraper.parsing import ParsedPage, parse_page
from scraper.urls import normalize_url

__all__ = ["CrawlConfig", "CrawlReport", "ParsedPage", "crawl", "normalize_url", "parse_page"]
