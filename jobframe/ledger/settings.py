"""Where a run ledger lives: SQLite by default, PostgreSQL when many pods share one."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["LedgerSettings"]


class LedgerSettings(BaseModel):
    """``ledger:`` in the settings tree (``LEDGER__STORE=postgres``, ``LEDGER__DSN=...``).

    SQLite (standard library) is the default: one file, at ``path`` — on Argo a workflow-scoped
    volume, so every retry of a step finds its predecessor's ledger. PostgreSQL (``jobframe[postgres]``)
    is for shards on many nodes, or a history shared beyond one workflow.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    store: Literal["sqlite", "postgres"] = "sqlite"
    path: Path = Field(Path(".jobframe/ledger.sqlite3"), description="SQLite file; its directory is created.")
    dsn: SecretStr | None = Field(
        None, description="PostgreSQL connection string (a secret: it may hold a password)."
    )
    timeout: float = Field(
        10.0, gt=0, le=600, description="Seconds a ledger write may take before the job stops (75)."
    )
    lease: float = Field(
        20.0,
        ge=1,
        le=3600,
        description="Seconds an attempt holds its run key after its last sign of life (renewed in the "
        "background): a second attempt meanwhile exits 75; a killed holder's key is free after this long.",
    )
    lease_wait: float = Field(
        0.0,
        ge=0,
        le=3600,
        description="Seconds an attempt waits for a held run key to be freed before it exits 75.",
    )
    durable_against: Literal["process_death", "power_loss"] = Field(
        "process_death",
        description="SQLite: survive a killed process (WAL, synchronous=NORMAL) or a lost host (FULL).",
    )

    @model_validator(mode="after")
    def _postgres_needs_a_dsn(self) -> LedgerSettings:
        if self.store == "postgres" and self.dsn is None:
            raise ValueError("store 'postgres' needs dsn (e.g. LEDGER__DSN=postgresql://user@host/db)")
        return self
