"""OpenTelemetry: FastAPI's native traces, metrics and logs, exported when the settings say so.

FastAPI records a server span and the `http.server.*` metrics of every request to whichever
OpenTelemetry providers are configured, and does nothing while none is. `TELEMETRY_EXPORT=true`
has FastAPI add OTLP exporters, configured by OpenTelemetry's own variables
(`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`, ...). Every JSON log line written during a
request carries the request's trace and span ids (core/logging.py), so a log line leads to its
trace. Prometheus: scrape an OpenTelemetry Collector that receives the OTLP metrics.
"""

from collections.abc import MutableMapping
from typing import Any

from fastapi.telemetry import TelemetryConfig

from .config import Settings


def _is_health_probe(scope: MutableMapping[str, Any]) -> bool:
    # Probes come every few seconds from the orchestrator: traced, they would bury the rest.
    path: str = scope["path"]
    return path.startswith("/health")


def telemetry_config(settings: Settings) -> TelemetryConfig:
    return {"auto_configure": settings.telemetry_export, "exclude": _is_health_probe}
