"""Kafka producers for jobs (``pip install "jobframe[kafka]"``): flushed within a bound at close,
undelivered messages counted in the log (docs/modules.md)."""

from jobframe.kafka.module import KafkaModule
from jobframe.kafka.producer import DeliveryFailures, close_producer, producer
from jobframe.kafka.settings import KafkaSettings

__all__ = ["DeliveryFailures", "KafkaModule", "KafkaSettings", "close_producer", "producer"]
