"""OpenTelemetry spans around a pass (decode) and its batches (vault, apply), off unless
configured.

Disabled, `Tracing.span` returns one shared no-op context manager: no OpenTelemetry import,
no allocation. Enabled (an OTLP endpoint in TracingConfig, and the `otel` extra installed),
spans go to an OTLP/HTTP exporter through a batch processor. Each Tracing has its own
TracerProvider; the global provider is never touched, so tests and several agents in one
process stay apart.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from casscade import __version__
from casscade.errors import ConfigError
from casscade.observability.config import TracingConfig

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

Attribute = str | int | float | bool
_NOOP: AbstractContextManager[object] = nullcontext()


class Tracing:
    """Spans, or nothing. Use `disabled`, `from_config` or `with_exporter` to make one."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self._provider = provider
        self._tracer: Tracer | None = None
        if provider is not None:
            self._tracer = provider.get_tracer("casscade", __version__)

    @classmethod
    def disabled(cls) -> Tracing:
        """No spans at all."""
        return cls()

    @classmethod
    def from_config(cls, config: TracingConfig | None, *, node_id: str) -> Tracing:
        """Spans exported to the configured OTLP endpoint; disabled without one.

        Raises:
            ConfigError: an endpoint is set but the `otel` extra is not installed.
        """
        if config is None or config.otlp_endpoint is None:
            return cls.disabled()
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415 - optional extra
                OTLPSpanExporter,
            )
        except ImportError as exc:
            raise ConfigError(
                "tracing.otlp_endpoint", "tracing needs the otel extra: pip install casscade[otel]"
            ) from exc
        exporter = OTLPSpanExporter(endpoint=config.otlp_endpoint)
        return cls.with_exporter(exporter, config=config, node_id=node_id, batched=True)

    @classmethod
    def with_exporter(
        cls,
        exporter: SpanExporter,
        *,
        config: TracingConfig | None = None,
        node_id: str = "",
        batched: bool = False,
    ) -> Tracing:
        """Spans sent to `exporter` (tests pass an in-memory one, `batched=False`)."""
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415 - optional extra
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import (  # noqa: PLC0415
            BatchSpanProcessor,
            SimpleSpanProcessor,
        )
        from opentelemetry.sdk.trace.sampling import (  # noqa: PLC0415
            ParentBased,
            TraceIdRatioBased,
        )

        settings = TracingConfig() if config is None else config
        resource = Resource.create({
            "service.name": settings.service_name,
            "service.version": __version__,
            "service.instance.id": node_id,
        })  # fmt: skip
        sampler = ParentBased(TraceIdRatioBased(settings.sample_ratio))
        provider = TracerProvider(resource=resource, sampler=sampler)
        processor = BatchSpanProcessor(exporter) if batched else SimpleSpanProcessor(exporter)
        provider.add_span_processor(processor)
        return cls(provider)

    @property
    def enabled(self) -> bool:
        """Whether spans are recorded."""
        return self._tracer is not None

    def span(self, name: str, **attributes: Attribute) -> AbstractContextManager[object]:
        """A span named `name` (a child of the current one), or a no-op when disabled.

        An exception leaving the block is recorded on the span and marks it as an error.
        """
        if self._tracer is None:
            return _NOOP
        return self._tracer.start_as_current_span(f"casscade.{name}", attributes=attributes)

    def shutdown(self) -> None:
        """Flush and stop the exporter (the CLI calls it on exit)."""
        if self._provider is not None:
            self._provider.shutdown()
