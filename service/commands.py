"""Server-side commands: ``serve`` and ``migrate``."""

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import uvicorn

from service.core.db import create_db_engine, session_factory, session_scope, utcnow
from service.core.logging import configure_logging, get_logger
from service.core.migrate import upgrade
from service.core.settings import get_settings
from service.retention import prune

log = get_logger(__name__)

# With --workers above 1, uvicorn kills a worker that does not respond to its
# health check within this time, also while the worker is still importing the
# application. Imports take a few seconds on a busy machine, and the default
# of 5 s then kills every worker before it serves. While the supervisor waits
# for a starting worker it handles no signal, so SIGTERM may wait this long.
WORKER_HEALTHCHECK_SECONDS = 30


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind")
    serve.add_argument("--port", type=int, default=8000, help="TCP port to bind")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="number of worker processes "
        "(more than 1 requires PROMETHEUS_MULTIPROC_DIR)",
    )
    serve.set_defaults(handler=run_serve)

    migrate = subparsers.add_parser(
        "migrate", help="upgrade the database schema to the latest revision"
    )
    migrate.set_defaults(handler=run_migrate)

    prune_parser = subparsers.add_parser(
        "prune",
        help="delete raw failures, quarantined reports and event receipts "
        "past their retention (run it daily from a scheduler)",
    )
    prune_parser.set_defaults(handler=run_prune)


def clean_multiprocess_dir() -> None:
    """Empty ``PROMETHEUS_MULTIPROC_DIR`` so counters of an earlier run are gone.

    Files of workers that die during this run are kept, because they contain
    counts that Prometheus has already scraped and a counter must never
    decrease. The metrics of this service are counters, or gauges computed on
    scrape, so no per-process gauge file needs ``mark_process_dead`` either.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for leftover in path.glob("*.db"):
        leftover.unlink()
    log.info("metrics_directory_cleaned", path=str(path))


def run_serve(args: argparse.Namespace) -> int:
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each scrape reaches one worker, so without the shared directory the
        # counters would jump between workers and every rate() would be wrong.
        print(
            "pinwatch: --workers above 1 needs PROMETHEUS_MULTIPROC_DIR. Set it "
            "to a directory that every worker can write to.",
            file=sys.stderr,
        )
        return 2
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    clean_multiprocess_dir()
    uvicorn.run(
        "service.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )
    return 0


def run_migrate(_args: argparse.Namespace) -> int:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    path = settings.sqlite_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    log.info("database_migrated", database=settings.database_url.split(":")[0])
    return 0


def run_prune(_args: argparse.Namespace) -> int:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    engine = create_db_engine(settings)
    try:
        for session in session_scope(session_factory(engine)):
            result = prune(session, settings, utcnow())
    finally:
        engine.dispose()
    log.info(
        "pruned",
        failures=result.failures,
        quarantined=result.quarantined,
        receipts=result.receipts,
    )
    print(
        f"deleted {result.failures} raw failures, {result.quarantined} quarantined "
        f"reports and {result.receipts} event receipts"
    )
    return 0
