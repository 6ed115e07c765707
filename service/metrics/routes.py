"""The ``/metrics`` endpoint.

With ``PROMETHEUS_MULTIPROC_DIR`` set (several worker processes), counters are
read from the shared directory and summed across workers; otherwise they come
from this process's registry. Database gauges are added in both cases, by the
worker that serves the scrape, so each appears once.
"""

import os

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from service.metrics.collector import DatabaseCollector
from service.metrics.labels import VersionLabels
from service.metrics.metrics import Metrics

router = APIRouter(tags=["metrics"])


def install_metrics(app: FastAPI) -> None:
    settings = app.state.settings
    # A single process would also expose every counter as a <name>_created
    # gauge, one more series per label set. Multiprocess mode never does, so
    # without them both modes expose the same families.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    versions = VersionLabels(settings.metrics_max_versions)
    metrics = Metrics(versions=versions)
    collector = DatabaseCollector(
        app.state.sessions, versions, settings.metrics_cache_seconds
    )
    exposition = metrics.registry
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        exposition = CollectorRegistry()
        MultiProcessCollector(exposition)  # type: ignore[no-untyped-call]
    exposition.register(collector)
    app.state.metrics = metrics
    app.state.exposition = exposition


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Expose Prometheus metrics in the text exposition format."""
    registry = request.app.state.exposition
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
