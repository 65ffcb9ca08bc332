"""The Kafka module: a container providing one producer, closed (flushed, bounded) after the job."""

from __future__ import annotations

from dependency_injector import containers, providers

from jobframe.kafka.producer import producer
from jobframe.kafka.settings import KafkaSettings

__all__ = ["KafkaModule"]


class KafkaModule(containers.DeclarativeContainer):
    """``producer`` is a ``Resource``: created on first use, flushed and closed by jobframe's teardown."""

    settings = providers.Dependency(instance_of=KafkaSettings)
    producer = providers.Resource(producer, settings=settings)
