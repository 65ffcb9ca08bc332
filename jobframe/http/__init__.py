"""HTTP building blocks: settings, client factories and the network module."""

from jobframe.http.clients import async_client, sync_client
from jobframe.http.module import NetworkModule
from jobframe.http.settings import HttpSettings, PoolLimits, Timeouts

__all__ = ["HttpSettings", "NetworkModule", "PoolLimits", "Timeouts", "async_client", "sync_client"]
