"""Typed settings for one Kafka producer: bounded by default, below jobframe's teardown budget."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["KafkaSettings"]


class KafkaSettings(BaseModel):
    """Where a producer sends and how long it may try.

    The defaults keep a producer's whole life inside jobframe's budgets: a message that cannot
    be delivered fails after ``message_timeout`` (not librdkafka's 300 s), and the flush at close
    waits at most ``flush_timeout`` — below ``--shutdown-timeout`` (5 s), so a close never needs
    to be abandoned. ``options`` are passed to librdkafka as they are; ``secret_options`` too,
    but never shown in a repr or a log (SASL passwords).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    bootstrap_servers: str
    client_id: str = "jobframe"
    message_timeout: float = Field(3.0, gt=0, description="Seconds until an undelivered message fails.")
    flush_timeout: float = Field(3.0, ge=0, description="Seconds the close waits for deliveries.")
    options: dict[str, str | int | float | bool] = Field(default_factory=dict)
    secret_options: dict[str, SecretStr] = Field(default_factory=dict)

    def config(self) -> dict[str, str | int | float | bool]:
        """The librdkafka configuration (secrets revealed: for the producer only)."""
        return {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": self.client_id,
            "message.timeout.ms": int(self.message_timeout * 1000),
            **self.options,
            **{key: value.get_secret_value() for key, value in self.secret_options.items()},
        }
