"""The ``/metrics`` endpoint."""

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.metrics.metrics import Metrics

router = APIRouter(tags=["metrics"])


def install_metrics(app: FastAPI) -> None:
    app.state.metrics = Metrics()


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Expose Prometheus metrics in the text exposition format."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
