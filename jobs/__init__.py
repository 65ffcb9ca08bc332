"""The default jobframe app: example jobs and the main container that exposes them."""

from jobs.container import MainContainer

__all__ = ["MainContainer"]
