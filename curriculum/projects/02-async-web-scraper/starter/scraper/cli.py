"""`python -m scraper crawl SEED [SEED ...] [options]`: the command line and its exit codes.

    0    the crawl ran to its end (URLs of a host whose robots.txt could not be read are
         logged and stay pending for the next run)
    1    an error (database unreachable, bad seed, a bug); details on stderr
    2    bad command-line usage (argparse)
    130  stopped by SIGINT, everything fetched saved; run the same command to resume
    143  stopped by SIGTERM, likewise

A first SIGINT or SIGTERM asks for a graceful stop (shutdown.py); a second one abandons the
requests still in flight and exits at once (their pages are fetched again next run).
"""

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from scraper.config import DEFAULT_USER_AGENT, CrawlConfig, dsn_from_environment

logger = logging.getLogger("scraper")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scraper", description="A polite, resumable asynchronous web crawler."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("crawl", help="crawl from seed URLs, resuming a previous crawl")
    run.add_argument("seeds", nargs="+", metavar="SEED", help="start URL; its origin is in scope")
    run.add_argument(
        "--dsn",
        default=None,
        help="PostgreSQL URL (default: $PYMASTERY_POSTGRES_URL without its +driver part)",
    )
    run.add_argument("--table-prefix", default="cap2_", help="prefix of the three tables")
    run.add_argument("--user-agent", default=DEFAULT_USER_AGENT)
    run.add_argument("--per-host-concurrency", type=int, default=4, metavar="N")
    run.add_argument(
        "--per-host-rate", type=float, default=10.0, metavar="R", help="requests/s, 0 = no limit"
    )
    run.add_argument("--max-attempts", type=int, default=4, metavar="N")
    run.add_argument("--backoff-base", type=float, default=0.5, metavar="SECONDS")
    run.add_argument("--backoff-max", type=float, default=30.0, metavar="SECONDS")
    run.add_argument("--request-timeout", type=float, default=10.0, metavar="SECONDS")
    run.add_argument("--max-redirects", type=int, default=5, metavar="N")
    run.add_argument("--drain-timeout", type=float, default=10.0, metavar="SECONDS")
    run.add_argument(
        "--parser-processes",
        type=int,
        default=1,
        metavar="N",
        help="worker processes that parse big pages (0: a thread of this process)",
    )
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def config_from(arguments: argparse.Namespace) -> CrawlConfig:
    return CrawlConfig(
        seeds=tuple(arguments.seeds),
        dsn=arguments.dsn or dsn_from_environment(),
        table_prefix=arguments.table_prefix,
        user_agent=arguments.user_agent,
        per_host_concurrency=arguments.per_host_concurrency,
        per_host_rate=arguments.per_host_rate,
        max_attempts=arguments.max_attempts,
        backoff_base=arguments.backoff_base,
        backoff_max=arguments.backoff_max,
        request_timeout=arguments.request_timeout,
        max_redirects=arguments.max_redirects,
        drain_timeout=arguments.drain_timeout,
    )


async def run(config: CrawlConfig, parser_processes: int) -> int:
    """Crawl under signal handlers; return the process exit code.

    Install handlers for SIGINT and SIGTERM with loop.add_signal_handler: the first signal
    calls shutdown.request(); a second one cancels this task (no more waiting). Run
    crawl(config, shutdown, parser.parse) inside `with PageParser(parser_processes) as
    parser`. Return 128 + the signal number after a signal, 0 after a finished crawl, and 1
    (having logged the error) if the crawl raised. Print a one-line summary on stdout.
    """
    raise NotImplementedError("TODO: run")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    logging.basicConfig(
        level=arguments.log_level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        config = config_from(arguments)
    except ValueError as error:
        parser.error(str(error))
    return asyncio.run(run(config, arguments.parser_processes))
