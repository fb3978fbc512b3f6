"""Entry point: `python -m scraper crawl SEED [SEED ...] [options]`."""

from scraper.cli import main

raise SystemExit(main())
