"""Tracing: a shared no-op when off; nested OpenTelemetry spans when on."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from casscade.observability.config import TracingConfig
from casscade.observability.tracing import Tracing


def test_tracing_disabled_returns_one_shared_noop() -> None:
    """Off by default: every span is the same do-nothing context manager."""
    tracing = Tracing.from_config(None, node_id="n1")
    assert not tracing.enabled
    assert tracing.span("decode") is tracing.span("apply", events=3)
    with tracing.span("decode"):
        pass
    assert not Tracing.from_config(TracingConfig(), node_id="n1").enabled


def test_tracing_config_with_endpoint_is_enabled() -> None:
    """An OTLP endpoint turns tracing on (nothing is sent until a span ends)."""
    config = TracingConfig(otlp_endpoint="http://127.0.0.1:4318/v1/traces")
    tracing = Tracing.from_config(config, node_id="n1")
    try:
        assert tracing.enabled
    finally:
        tracing.shutdown()


def test_tracing_batch_spans_nest_vault_and_apply() -> None:
    """Spans opened inside the batch span are its children, with their attributes."""
    exporter = InMemorySpanExporter()
    tracing = Tracing.with_exporter(exporter, node_id="n1")
    with tracing.span("batch", destination="pg", batch_id="b1"):
        for step in ("vault", "apply"):
            with tracing.span(step, events=10):
                pass
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"casscade.batch", "casscade.vault", "casscade.apply"}
    root = spans["casscade.batch"]
    assert root.attributes is not None
    assert dict(root.attributes) == {"destination": "pg", "batch_id": "b1"}
    for step in ("vault", "apply"):
        child = spans[f"casscade.{step}"]
        assert child.parent is not None
        assert child.parent.span_id == root.context.span_id
    assert root.resource.attributes["service.instance.id"] == "n1"
    assert root.resource.attributes["service.name"] == "casscade"


def test_tracing_exception_marks_the_span_as_error() -> None:
    """An exception leaving a span is recorded and sets the error status."""
    exporter = InMemorySpanExporter()
    tracing = Tracing.with_exporter(exporter)
    with pytest.raises(RuntimeError), tracing.span("apply"):
        raise RuntimeError("destination went away")
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["exception"]


def test_tracing_sample_ratio_zero_records_nothing() -> None:
    """With sample_ratio 0 spans are not exported."""
    exporter = InMemorySpanExporter()
    tracing = Tracing.with_exporter(exporter, config=TracingConfig(sample_ratio=0.0))
    with tracing.span("batch"):
        pass
    assert exporter.get_finished_spans() == ()
