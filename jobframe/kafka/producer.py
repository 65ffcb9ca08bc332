"""A Kafka producer as a resource: what it queued is flushed within a bound, and what was not
delivered is counted in the log, never dropped in silence.

``confluent_kafka.Producer`` queues messages in librdkafka and sends them from its own threads; a
process that ends without flushing loses whatever is still queued, and ``close()`` flushes in C
for as long as librdkafka's message timeout allows — where no signal reaches it. So the close
here flushes with :attr:`KafkaSettings.flush_timeout`, purges what is still queued (failing
those messages, so their delivery callbacks see the error), logs ``kafka.undelivered`` with the
count, and only then closes the producer, which has nothing left to wait for.
"""

from __future__ import annotations

from collections.abc import Iterator

from confluent_kafka import Producer

from jobframe.kafka.settings import KafkaSettings
from jobframe.logs import get_logger

__all__ = ["close_producer", "producer"]

_log = get_logger("jobframe.kafka")


def close_producer(kafka: Producer, flush_timeout: float) -> int:
    """Flush for at most ``flush_timeout`` seconds, purge the rest, close; returns how many
    messages were not delivered (0: everything the producer was given was acknowledged)."""
    left = kafka.flush(flush_timeout)
    if left:
        kafka.purge()
        kafka.flush(0)  # serve the purged messages' delivery callbacks
        _log.error("kafka.undelivered", count=left, flush_timeout_s=flush_timeout)
    close = getattr(kafka, "close", None)  # confluent-kafka >= 2.10; nothing is queued any more
    if close is not None:
        close()
    return int(left)


def producer(settings: KafkaSettings) -> Iterator[Producer]:
    """``providers.Resource(producer, settings=...)``: a producer flushed and closed after the job."""
    kafka = Producer(settings.config())
    try:
        yield kafka
    finally:
        close_producer(kafka, settings.flush_timeout)
