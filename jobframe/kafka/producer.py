"""A Kafka producer as a resource: what it queued is flushed within a bound, and what was not
delivered is counted in the log, never dropped in silence.

``confluent_kafka.Producer`` queues messages in librdkafka and sends them from its own threads; a
process that ends without flushing loses whatever is still queued, and ``close()`` flushes in C
for as long as librdkafka's message timeout allows — where no signal reaches it. So the close
here flushes for at most :attr:`KafkaSettings.flush_timeout`, purges what is still queued (those
messages fail, so their delivery callbacks see the error), logs ``kafka.undelivered`` with the
counts, and only then closes the producer, which has nothing left to wait for.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from confluent_kafka import KafkaError, Producer

from jobframe.kafka.settings import KafkaSettings
from jobframe.logs import get_logger

__all__ = ["DeliveryFailures", "close_producer", "producer"]

_log = get_logger("jobframe.kafka")


class DeliveryFailures:
    """The producer's default delivery callback: counts messages librdkafka gave up on (message
    timeout, a broker's refusal). A message produced with its own ``on_delivery`` reports there."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, err: KafkaError | None, msg: Any) -> None:
        if err is not None:
            with self._lock:
                self.count += 1


def close_producer(kafka: Producer, flush_timeout: float, failures: DeliveryFailures | None = None) -> int:
    """Flush for at most ``flush_timeout`` seconds, purge the rest, close; returns how many
    messages were not delivered: still queued at the close, or failed earlier (as ``failures``
    counted them). 0: everything the producer was given was acknowledged."""
    left = kafka.flush(flush_timeout)
    failed = failures.count if failures is not None else 0  # before the purge adds its own
    if left:
        kafka.purge()
        kafka.flush(0)  # serve the purged messages' delivery callbacks
    if left or failed:
        _log.error("kafka.undelivered", queued=left, failed=failed, flush_timeout_s=flush_timeout)
    close = getattr(kafka, "close", None)  # confluent-kafka >= 2.10; nothing is queued any more
    if close is not None:
        close()
    return int(left) + failed


def producer(settings: KafkaSettings) -> Iterator[Producer]:
    """``providers.Resource(producer, settings=...)``: a producer flushed and closed after the job."""
    failures = DeliveryFailures()
    kafka = Producer({**settings.config(), "on_delivery": failures})
    try:
        yield kafka
    finally:
        close_producer(kafka, settings.flush_timeout, failures)
