"""jobframe.kafka: the producer's close is bounded and reports what it could not deliver.

librdkafka itself runs (no mock) against a loopback port that refuses connections, so every
message stays undeliverable: the worst case of a close, where an unbounded flush would wait for
the whole message timeout.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from dependency_injector import containers, providers

pytest.importorskip("confluent_kafka")

from confluent_kafka import Producer
from structlog.testing import capture_logs

from jobframe.kafka import KafkaModule, KafkaSettings, close_producer, producer


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        yield held.getsockname()[1]


def _settings(port: int, **values: Any) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", **values)


def test_close_flushes_within_its_bound_and_counts_the_undelivered(closed_port: int) -> None:
    settings = _settings(closed_port, message_timeout=60, flush_timeout=0.3)
    failed: list[str] = []
    resource = producer(settings)
    kafka = next(resource)
    for index in range(3):
        kafka.produce("jobs", f"m{index}".encode(), on_delivery=lambda err, msg: failed.append(str(err)))
    started = time.monotonic()
    with capture_logs() as logs, pytest.raises(StopIteration):
        next(resource)
    took = time.monotonic() - started
    assert took < 0.3 + 1.0, f"the close took {took:.2f}s, beyond its 0.3 s flush bound"
    undelivered = [e for e in logs if e["event"] == "kafka.undelivered"]
    assert [(e["queued"], e["failed"]) for e in undelivered] == [(3, 0)]
    assert len(failed) == 3 and all("PURGE" in err for err in failed), failed


def test_messages_that_timed_out_before_the_close_are_counted_too(closed_port: int) -> None:
    settings = _settings(closed_port, message_timeout=0.2, flush_timeout=4)
    resource = producer(settings)
    kafka = next(resource)
    for index in range(3):
        kafka.produce("jobs", f"m{index}".encode())
    started = time.monotonic()
    with capture_logs() as logs, pytest.raises(StopIteration):
        next(resource)
    assert time.monotonic() - started < 4 + 1.0
    undelivered = [e for e in logs if e["event"] == "kafka.undelivered"]
    assert [(e["queued"], e["failed"]) for e in undelivered] == [(0, 3)]


def test_a_producer_with_nothing_queued_closes_quietly(closed_port: int) -> None:
    settings = _settings(closed_port, flush_timeout=5)
    kafka = Producer(settings.config())
    started = time.monotonic()
    with capture_logs() as logs:
        assert close_producer(kafka, settings.flush_timeout) == 0
    assert time.monotonic() - started < 1.0
    assert [e for e in logs if e["event"] == "kafka.undelivered"] == []


def test_settings_reach_librdkafka_and_secrets_stay_hidden() -> None:
    settings = KafkaSettings(
        bootstrap_servers="broker:9092",
        message_timeout=2.5,
        options={"acks": "all"},
        secret_options={"sasl.password": "hunter2-kafka"},
    )
    config = settings.config()
    assert config["message.timeout.ms"] == 2500 and config["acks"] == "all"
    assert config["sasl.password"] == "hunter2-kafka"
    assert "hunter2-kafka" not in repr(settings) and "hunter2-kafka" not in str(settings.model_dump())


def test_the_defaults_fit_inside_the_teardown_budget() -> None:
    settings = KafkaSettings(bootstrap_servers="broker:9092")
    assert settings.flush_timeout < 5.0  # --shutdown-timeout's default (docs/lifecycle.md)
    assert settings.message_timeout <= settings.flush_timeout


def test_the_module_provides_a_producer_that_teardown_closes(closed_port: int) -> None:
    class App(containers.DeclarativeContainer):
        kafka = providers.Container(KafkaModule, settings=_settings(closed_port, flush_timeout=0.2))

    app = App()
    kafka = app.kafka.producer()
    kafka.produce("jobs", b"one")
    with capture_logs() as logs:
        app.shutdown_resources()
    assert [e["queued"] for e in logs if e["event"] == "kafka.undelivered"] == [1]
