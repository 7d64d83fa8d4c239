"""OpenTelemetry, switched on by OTEL_ENABLED: a request's span reaches a collector over
OTLP/HTTP (here a local HTTP server decoding the protobuf as a collector does)."""

import pytest
from django.test import Client

from core import observability
from tests.receivers import HttpReceiver

pytest.importorskip("opentelemetry.sdk")
trace_service = pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")


@pytest.fixture
def collector(settings):
    receiver = HttpReceiver()
    settings.OTEL_ENABLED = True
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url.rsplit("/", 1)[0]
    yield receiver
    observability.stop_tracing()
    receiver.close()


def spans_in(received):
    spans = []
    for _headers, body in received:
        request = trace_service.ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}.get(
                "service.name"
            )
            for scope in resource_spans.scope_spans:
                spans.extend((service, span.name) for span in scope.spans)
    return spans


@pytest.mark.django_db
def test_a_request_is_traced_to_the_collector(collector):
    provider = observability.init_tracing()
    assert provider is not None
    assert Client().get("/healthz?live").status_code == 200
    provider.force_flush(timeout_millis=10_000)
    assert collector.received, "no OTLP export reached the collector"
    headers, _ = collector.received[0]
    assert {k.lower(): v for k, v in headers.items()}["content-type"] == "application/x-protobuf"
    assert ("omni-backoffice", "GET healthz") in spans_in(collector.received)


def test_tracing_is_off_unless_enabled(settings):
    settings.OTEL_ENABLED = False
    assert observability.init_tracing() is None
