"""Operating the agent: Prometheus metrics, health and status over HTTP, logs and traces.

The agent reports what happens to a `Telemetry` (metrics + status board + tracing); the
`StatusServer` serves /metrics, /healthz, /readyz, /status and the status page from them.
This package never imports the engine or the CLI (import-linter), and it never sees a row
value: it is handed names, counts, write times and positions. docs/operations.md documents
every metric and endpoint.
"""

from casscade.observability.batch import BatchSummary
from casscade.observability.board import BoardTiming, DestinationBoard, StatusBoard
from casscade.observability.config import HttpConfig, TracingConfig, resolve_token
from casscade.observability.kinds import DestinationState, ErrorKind, error_kind
from casscade.observability.logging import bind_batch, configure_logging, hash_key
from casscade.observability.metrics import Metrics
from casscade.observability.server import StatusServer
from casscade.observability.status import AgentStatus, DestinationStatus, Readiness, to_json
from casscade.observability.telemetry import DestinationTelemetry, Telemetry
from casscade.observability.tracing import Tracing

__all__ = [
    "AgentStatus",
    "BatchSummary",
    "BoardTiming",
    "DestinationBoard",
    "DestinationState",
    "DestinationStatus",
    "DestinationTelemetry",
    "ErrorKind",
    "HttpConfig",
    "Metrics",
    "Readiness",
    "StatusBoard",
    "StatusServer",
    "Telemetry",
    "Tracing",
    "TracingConfig",
    "bind_batch",
    "configure_logging",
    "error_kind",
    "hash_key",
    "resolve_token",
    "to_json",
]
