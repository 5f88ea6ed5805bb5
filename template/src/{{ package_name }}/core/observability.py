"""OpenTelemetry: FastAPI's native traces, metrics and logs, exported when the settings say so.

FastAPI records a server span and the `http.server.*` metrics of every request to whichever
OpenTelemetry providers are configured, and does nothing while none is (the default: no span,
no cost, and log lines without trace ids). `TELEMETRY_EXPORT=true` has FastAPI add OTLP
exporters, configured by OpenTelemetry's own variables (`OTEL_EXPORTER_OTLP_ENDPOINT`,
`OTEL_SERVICE_NAME`, ...). Every JSON log line written during a traced request then carries
the request's trace and span ids (core/logging.py), so a log line leads to its trace.
Prometheus: scrape an OpenTelemetry Collector that receives the OTLP metrics.

An export waits at most `OTEL_EXPORTER_OTLP_TIMEOUT` seconds for the collector, retries
included: EXPORT_TIMEOUT_SECONDS unless set (OpenTelemetry's own default is 10 s per signal,
which made a shutdown with an unreachable collector take some 15 s).
"""

import os
from collections.abc import MutableMapping
from typing import Any

from fastapi.telemetry import TelemetryConfig

from .config import Settings


def _is_health_probe(scope: MutableMapping[str, Any]) -> bool:
    # Probes come every few seconds from the orchestrator: traced, they would bury the rest.
    path: str = scope["path"]
    return path.startswith("/health")


# Seconds an OTLP export (one batch of one signal) may take, retries included; the flush at
# shutdown waits for one export per signal (traces, metrics, logs).
EXPORT_TIMEOUT_SECONDS = 2


def telemetry_config(settings: Settings) -> TelemetryConfig:
    if settings.telemetry_export:
        # Read by the OTLP exporters FastAPI creates at start-up; a value of yours wins.
        os.environ.setdefault("OTEL_EXPORTER_OTLP_TIMEOUT", str(EXPORT_TIMEOUT_SECONDS))
    return {"auto_configure": settings.telemetry_export, "exclude": _is_health_probe}
